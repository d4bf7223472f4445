import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";

const DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** URL of a fresh, empty database of its own. */
  readonly url: string;
  /** Ends its connections and drops it. */
  drop(): Promise<void>;
}

/**
 * Creates a uniquely named database on the server named by `TEST_POSTGRES_URL` (default: the
 * local development server). Fails loudly when no server answers: these tests never skip.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env["TEST_POSTGRES_URL"] ?? DEFAULT_SERVER_URL;
  const name = `dispatcher_test_${randomUUID().replaceAll("-", "")}`;
  const admin = postgres(serverUrl, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    throw new Error(
      `cannot create a test database on ${redact(serverUrl)}: ${String(error)}. ` +
        `Start PostgreSQL there (trust auth for user postgres), or set TEST_POSTGRES_URL to a ` +
        `server where this user may create databases.`,
      { cause: error },
    );
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | null = null;
  return {
    url: url.toString(),
    drop: () => {
      dropping ??= (async () => {
        try {
          await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
          await admin.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await admin.end({ timeout: 5 });
        }
      })();
      return dropping;
    },
  };
}

/**
 * A fresh database with the repository's migrations applied, and a small pool on it for the test
 * to seed and inspect rows; `cleanups` gets what ends the pool and drops the database.
 */
export async function createMigratedDatabase(cleanups: (() => Promise<unknown>)[]): Promise<{ url: string; sql: postgres.Sql }> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const sql = postgres(database.url, { max: 4, onnotice: () => {} });
  cleanups.push(() => sql.end());
  await applyMigrations(sql);
  return { url: database.url, sql };
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable TEST_POSTGRES_URL)";
  }
}
