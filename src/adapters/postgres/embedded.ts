import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Logger, noopLogger } from "../../ports/logger.ts";
import { lockDataDir } from "./data-dir-lock.ts";

/**
 * pglite-socket serves one client connection by default (`maxConnections: 1`) and resets any
 * connection beyond it with ECONNRESET. Its optional multiplexer interleaves the protocol
 * messages of several connections over PGlite's single session, which is not safe for
 * concurrent transactions, so the embedded server keeps that default and postgres.js must use
 * one connection: transactions and queries then queue in the pool, one at a time. (So inside
 * `transaction`, use the `tx` repositories: a query on the pool would wait for the very
 * transaction that waits for it.)
 */
export const EMBEDDED_POOL_SIZE = 1;

/**
 * postgres.js options for the embedded server, besides `max: EMBEDDED_POOL_SIZE`. PGlite has a single backend session that
 * outlives each client connection (prepared statements and `SET`s of one connection are still
 * there for the next), so named prepared statements would pile up across reconnects; unnamed
 * statements leave nothing behind. Type fetching, arrays, bytea and `for update skip locked`
 * work unchanged. No LISTEN: it would need a second connection, and no other process can write
 * the outbox of a server that serves one (the dispatcher's own appends wake its poller directly).
 */
export const embeddedConnectionOptions = { prepare: false, listen: false } as const;

export interface EmbeddedPostgres {
  /** A postgres:// URL for `connectPostgres` (with `embeddedConnectionOptions`). */
  readonly url: string;
  /** Stops the socket server, closes PGlite, releases the directory lock. Idempotent. */
  stop(): Promise<void>;
}

export interface StartEmbeddedPostgresOptions {
  /** Holds the lock file and, under `pgdata/`, the database files. Created when missing. */
  readonly dataDir: string;
  readonly logger?: Logger;
}

/**
 * Starts PGlite with its files under `dataDir` and serves it over TCP on 127.0.0.1 on a port the
 * OS picks. Fails when another live process holds `dataDir`.
 */
export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const logger = options.logger ?? noopLogger;
  await mkdir(options.dataDir, { recursive: true });
  const releaseLock = await lockDataDir(options.dataDir);
  let db: PGlite | null = null;
  let server: PGLiteSocketServer | null = null;
  try {
    // A subdirectory, because initdb wants a directory of its own (the lock file lives beside it).
    db = await PGlite.create({ dataDir: join(options.dataDir, "pgdata") });
    server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: EMBEDDED_POOL_SIZE });
    server.addEventListener("error", (event) => {
      logger.warn("embedded database socket error", { error: String((event as CustomEvent).detail) });
    });
    await server.start();
  } catch (error) {
    await server?.stop().catch(() => {});
    await db?.close().catch(() => {});
    await releaseLock();
    throw error;
  }

  const address = server.getServerConn();
  const url = `postgres://postgres@${address}/postgres`;
  logger.info("embedded database started", { data_dir: options.dataDir, address });

  const [runningServer, runningDb] = [server, db];
  let stopping: Promise<void> | null = null;
  return {
    url,
    stop: () => {
      stopping ??= (async () => {
        try {
          await runningServer.stop();
          await runningDb.close();
        } finally {
          await releaseLock();
        }
        logger.info("embedded database stopped", { data_dir: options.dataDir });
      })();
      return stopping;
    },
  };
}
