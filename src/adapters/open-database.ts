import { errorText } from "../shared/error-text.ts";
import { retryWithBackoff } from "../shared/retry-with-backoff.ts";
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
export async function openDatabase(options: {
  /** `DATABASE_URL`, or null for the embedded database. */
  readonly config: { readonly databaseUrl: string | null; readonly dataDir: string };
  readonly logger: Logger;
  readonly signal: AbortSignal;
}): Promise<OpenedDatabase | null> {
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
  try {
    const applied = await retryWithBackoff(() => applyMigrations(db.sql), {
      firstWaitMs: 250,
      maxWaitMs: 10_000,
      signal,
      onFailure: (error, waitMs) => logger.error("database not ready; retrying", { error: errorText(error), retry_in_ms: waitMs }),
    });
    if (applied.length > 0) logger.info("migrations applied", { versions: applied });
  } catch (error) {
    await close();
    if (signal.aborted) return null;
    throw error;
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
