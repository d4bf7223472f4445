import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const INITIAL = fileURLToPath(new URL("../../migrations/001_initial.sql", import.meta.url));

describe("applyMigrations on Postgres", () => {
  let database: TestDatabase;
  let migrationsDir: string;
  const clients: postgres.Sql[] = [];
  /** A pool on the test database; `applicationName` shows its connections in pg_stat_activity. */
  const connect = (applicationName = "migrate-test") => {
    const sql = postgres(database.url, { max: 2, onnotice: () => {}, connection: { application_name: applicationName } });
    clients.push(sql);
    return sql;
  };

  beforeEach(async () => {
    database = await createTestDatabase();
    migrationsDir = await mkdtemp(join(tmpdir(), "dispatcher-migrations-"));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((sql) => sql.end({ timeout: 1 })));
    await database.drop();
    await rm(migrationsDir, { recursive: true, force: true });
  });

  it("the repository's migrations apply once; applying them again applies nothing", async () => {
    const sql = connect();
    expect(await applyMigrations(sql)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(await applyMigrations(sql)).toEqual([]);
    const tables = await sql<{ name: string }[]>`
      select table_name as name from information_schema.tables where table_schema = 'public' order by 1`;
    expect(tables.map((t) => t.name)).toEqual([
      "jobs",
      "schema_migrations",
      "webhook_dead_letters",
      "webhook_deliveries",
      "webhook_delivery_attempts",
      "webhook_operator_actions",
      "webhook_outbox",
      "webhook_replays",
    ]);
  });

  it("upgrades a database made by 001 to 002 in place: rows are kept and webhook_id loses its own unique index", async () => {
    await copyFile(INITIAL, join(migrationsDir, "001_initial.sql"));
    const sql = connect();
    expect(await applyMigrations(sql, { directory: migrationsDir })).toEqual([1]);
    await sql`
      insert into webhook_deliveries (id, job_id, event, url, created_at, webhook_id, payload, next_attempt_at, updated_at)
      values ('0190f0a0-0000-7000-8000-000000000001', gen_random_uuid(), 'job.succeeded', 'https://r.example/', now(),
              'msg_0190f0a0000070008000000000000001', '\\x7b7d'::bytea, now(), now())`;
    expect(await applyMigrations(sql)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    const [row] = await sql<{ webhook_id: string; attempt_budget_start: number; carried_job: boolean }[]>`
      select webhook_id, attempt_budget_start, carried_job from webhook_deliveries`;
    expect(row?.webhook_id).toBe("msg_0190f0a0000070008000000000000001");
    // 004: a row from before re-drives existed has its whole budget ahead of it.
    expect(row?.attempt_budget_start).toBe(0);
    // 006: a row from before events carried their jobs still reads its secret from `jobs`.
    expect(row?.carried_job).toBe(false);
    const indexes = await sql<{ name: string }[]>`
      select indexname as name from pg_indexes where tablename = 'webhook_deliveries' order by 1`;
    // 002 dropped webhook_id's own index; 007 added the ones the list filters use.
    expect(indexes.map((i) => i.name)).toEqual([
      "webhook_deliveries_created_brin",
      "webhook_deliveries_due_idx",
      "webhook_deliveries_failed_idx",
      "webhook_deliveries_job_event_key",
      "webhook_deliveries_origin_idx",
      "webhook_deliveries_pkey",
    ]);
  });

  it("two processes migrating a fresh database at once apply each file exactly once: the second waits on the lock the first holds", async () => {
    await copyFile(INITIAL, join(migrationsDir, "001_initial.sql"));
    // 002 reads a table the test keeps locked: the first migrator stops there, holding the migration lock, until the test lets it go.
    await writeFile(join(migrationsDir, "002_gated.sql"), "create table probe (id int); select count(*) from migration_gate;");
    const observer = connect();
    await observer`create table migration_gate (id int)`;
    const gate = await lockTable(connect(), "migration_gate");
    try {
      const first = applyMigrations(connect("migrator-first"), { directory: migrationsDir });
      await waitFor("the first migrator to hold the migration lock and wait at the gate", async () => {
        const locks = await migratorLocks(observer);
        return locks.includes("migrator-first holds the migration lock") && locks.includes("migrator-first waits for a table");
      });
      const second = applyMigrations(connect("migrator-second"), { directory: migrationsDir });
      const overlap = await waitFor("the second migrator to wait for the migration lock", async () => {
        const locks = await migratorLocks(observer);
        return locks.includes("migrator-second waits for the migration lock") ? locks : null;
      });
      expect(overlap).toEqual([
        "migrator-first holds the migration lock",
        "migrator-first waits for a table",
        "migrator-second waits for the migration lock",
      ]);

      await gate.release();
      expect(await first).toEqual([1, 2]);
      expect(await second).toEqual([]);
    } finally {
      await gate.release();
    }
    const recorded = await observer<{ version: number }[]>`select version from schema_migrations order by version`;
    expect(recorded.map((r) => r.version)).toEqual([1, 2]);
  });

  it("files apply in version order, and a file added later is applied on the next run", async () => {
    await writeFile(join(migrationsDir, "010_second.sql"), "alter table first add column b int;");
    await writeFile(join(migrationsDir, "002_first.sql"), "create table first (a int);");
    await writeFile(join(migrationsDir, "notes.txt"), "not a migration");
    const sql = connect();
    expect(await applyMigrations(sql, { directory: migrationsDir })).toEqual([2, 10]);
    await writeFile(join(migrationsDir, "011_third.sql"), "insert into first values (1, 2); insert into first values (3, 4);");
    expect(await applyMigrations(sql, { directory: new URL(`file://${migrationsDir}/`) })).toEqual([11]);
    expect(await sql`select * from first order by a`).toEqual([{ a: 1, b: 2 }, { a: 3, b: 4 }]);
  });

  it("a failing migration leaves nothing applied and surfaces the SQLSTATE", async () => {
    await writeFile(join(migrationsDir, "001_ok.sql"), "create table ok (a int);");
    await writeFile(join(migrationsDir, "002_broken.sql"), "create table broken (a int); select 1/0;");
    const sql = connect();
    await expect(applyMigrations(sql, { directory: migrationsDir })).rejects.toMatchObject({ code: "22012" });
    expect(await sql`select to_regclass('ok') as t`).toEqual([{ t: null }]);
  });

  it("two files with the same version are refused", async () => {
    await writeFile(join(migrationsDir, "001_a.sql"), "select 1;");
    await writeFile(join(migrationsDir, "001_b.sql"), "select 1;");
    await expect(applyMigrations(connect(), { directory: migrationsDir })).rejects.toThrow(/two migrations share version 1/);
  });
});

/** Holds an access exclusive lock on `table`, in a transaction left open until `release`. */
async function lockTable(sql: postgres.Sql, table: string): Promise<{ release(): Promise<void> }> {
  let signalLocked = (): void => {};
  const locked = new Promise<void>((resolve) => (signalLocked = resolve));
  let release = (): void => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const transaction = sql.begin(async (tx) => {
    await tx`lock table ${tx(table)} in access exclusive mode`;
    signalLocked();
    await released;
  });
  await Promise.race([locked, transaction]);
  return {
    release: async () => {
      release();
      await transaction;
    },
  };
}

/**
 * What the connections named `migrator-*` hold or wait for on this database, as sorted sentences:
 * the migration lock is the only advisory lock taken here.
 */
async function migratorLocks(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ name: string; locktype: string; granted: boolean }[]>`
    select a.application_name as name, l.locktype, l.granted
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where a.datname = current_database() and a.application_name like 'migrator-%'
      and (l.locktype = 'advisory' or (l.locktype = 'relation' and not l.granted))`;
  return rows
    .map((r) => (r.locktype === "advisory" ? `${r.name} ${r.granted ? "holds" : "waits for"} the migration lock` : `${r.name} waits for a table`))
    .sort();
}
