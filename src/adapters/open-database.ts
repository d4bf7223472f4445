import type { Config } from "../app/config.ts";
import { errorText } from "../app/error-text.ts";
import type { Database } from "../ports/database.ts";
import type { Logger } from "../ports/logger.ts";
import { connectPostgres } from "./postgres/connect.ts";
import { EMBEDDED_POOL_SIZE, embeddedConnectionOptions, startEmbeddedPostgres } from "./postgres/embedded.ts";
import { applyMigrations } from "./postgres/migrate.ts";

export interface OpenedDatabase {
  readonly db: Database;
  /** For the start-up log line: which database, without credentials. */
  readonly description: string;
  close(): Promise<void>;
}

/**
 * Connects to `DATABASE_URL`, or starts the embedded PGlite under `DATA_DIR` when it is unset,
 * then applies migrations. An unreachable database is retried (with a log line each time) until
 * it answers or `signal` aborts — a dispatcher started before its database loses nothing.
 * Returns null when aborted before the database was ready.
 */
export async function openDatabase(options: { config: Config; logger: Logger; signal: AbortSignal }): Promise<OpenedDatabase | null> {
  const { config, logger, signal } = options;
  const embedded = config.databaseUrl === null ? await startEmbeddedPostgres({ dataDir: config.dataDir, logger }) : null;
  const url = embedded?.url ?? (config.databaseUrl as string);
  const db = connectPostgres(
    embedded ? { url, max: EMBEDDED_POOL_SIZE, ...embeddedConnectionOptions } : { url, max: 10 },
  );
  const close = async () => {
    await db.close();
    await embedded?.stop();
  };
  let waitMs = 250;
  for (;;) {
    try {
      const applied = await applyMigrations(db.sql);
      if (applied.length > 0) logger.info("migrations applied", { versions: applied });
      break;
    } catch (error) {
      if (signal.aborted) {
        await close();
        return null;
      }
      logger.error("database not ready; retrying", { error: errorText(error), retry_in_ms: waitMs });
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs = Math.min(waitMs * 2, 10_000);
    }
  }
  return {
    db,
    description: embedded ? `embedded PGlite in ${config.dataDir}` : redact(url),
    close,
  };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "postgres";
  }
}
