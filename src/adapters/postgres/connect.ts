import postgres from "postgres";
import type { Database } from "../../ports/database.ts";
import { asDataRefusal } from "../data-refusal.ts";
import { type Logger, noopLogger } from "../../ports/logger.ts";
import type { Repositories } from "../../ports/transactor.ts";
import { makeDeadLetterStore } from "./dead-letters.ts";
import { makeDeliveryStore } from "./delivery-store.ts";
import { makeJobReader } from "./job-reader.ts";
import { makeOutbox } from "./outbox.ts";
import { listenForOutbox } from "./outbox-listener.ts";
import { makeReplayStore } from "./replay-store.ts";
import { makeRetentionStore } from "./retention-store.ts";
import { readBacklog } from "./sql/read-backlog.ts";
import type { SqlClient } from "./sql-client.ts";

/** postgres.js settings a particular server needs (see `embeddedConnectionOptions`). */
export interface ConnectionTuning {
  /** Pool size. */
  readonly max?: number;
  /** Named prepared statements; off when the server session outlives client connections. */
  readonly prepare?: boolean;
  /** A connection of its own that LISTENs for outbox rows (`listenForOutbox`); off when the server serves one connection. */
  readonly listen?: boolean;
}

export interface ConnectPostgresOptions extends ConnectionTuning {
  readonly url: string;
  readonly logger?: Logger;
  /** Server notices; by default logged at debug level. */
  readonly onnotice?: (notice: postgres.Notice) => void;
  /** Seconds to wait for a connection to open. */
  readonly connectTimeoutSeconds?: number;
  /** How long `ping` waits for `select 1`, in ms. */
  readonly pingTimeoutMs?: number;
}

/** The Database port plus the pool itself, for migrations and for tests that seed rows. */
export interface PostgresDatabase extends Database {
  readonly sql: postgres.Sql;
}

const DEFAULT_POOL_SIZE = 10;
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;
const DEFAULT_PING_TIMEOUT_MS = 2_000;
// Seconds sql.end waits for running queries before closing connections.
const CLOSE_TIMEOUT_SECONDS = 5;

/** Every repository over one client: the pool, or the connection of one transaction. */
export function makeRepositories(sql: SqlClient): Repositories {
  return {
    jobs: makeJobReader(sql),
    deliveries: makeDeliveryStore(sql),
    deadLetters: makeDeadLetterStore(sql),
    outbox: makeOutbox(sql),
    replays: makeReplayStore(sql),
    retention: makeRetentionStore(sql),
    backlog: { readBacklog: (now) => readBacklog(sql, { now }) },
  };
}

/**
 * A Database over a postgres.js pool. Errors are postgres.js errors (a `PostgresError` carries
 * the SQLSTATE in `code`), except that a transaction whose data the server refuses throws a
 * `DataRefusedError`. Opens connections lazily, on first use.
 */
export function connectPostgres(options: ConnectPostgresOptions): PostgresDatabase {
  const logger = options.logger ?? noopLogger;
  const connectTimeoutSeconds = options.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const sql = postgres(options.url, {
    max: options.max ?? DEFAULT_POOL_SIZE,
    prepare: options.prepare ?? true,
    connect_timeout: connectTimeoutSeconds,
    onnotice: options.onnotice ?? ((notice) => logger.debug("postgres notice", { message: notice.message, code: notice.code })),
  });
  const pingTimeoutMs = options.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS;
  let closing: Promise<void> | null = null;

  return {
    ...makeRepositories(sql),
    sql,
    transaction: async (work) => {
      // postgres.js types the result as "unwrapped" in case work returns an array of queries;
      // ours returns plain values, so the result is exactly T.
      const result: unknown = await sql.begin((tx) => work(makeRepositories(tx))).catch((error: unknown) => {
        throw asDataRefusal(error) ?? error;
      });
      return result as Awaited<ReturnType<typeof work>>;
    },
    ping: () => pingWithin(sql, pingTimeoutMs),
    ...(options.listen === false ? {} : { listenForOutbox: (onAppended: () => void) => listenForOutbox({ url: options.url, connectTimeoutSeconds }, onAppended) }),
    close: () => {
      closing ??= sql.end({ timeout: CLOSE_TIMEOUT_SECONDS });
      return closing;
    },
  };
}

async function pingWithin(sql: postgres.Sql, timeoutMs: number): Promise<void> {
  const query = sql`select 1`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      query.cancel();
      reject(new Error(`database did not answer select 1 within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
