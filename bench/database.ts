/**
 * Fresh databases for benchmark runs (created, migrated and dropped by name) and the bulk
 * inserts that set up each scenario: finished jobs, outbox rows, deliveries waiting for later.
 */
import { randomBytes, randomUUID } from "node:crypto";
import postgres from "postgres";
import { applyMigrations } from "../src/adapters/postgres/migrate.ts";
import { EVENT, OUTPUT_MARKUP } from "./payload.ts";
import { cpuMicrosOf } from "./proc-stats.ts";
import type { Scope } from "./scope.ts";

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  /** A small pool for the benchmark's own statements. */
  readonly sql: postgres.Sql;
}

const quiet = { onnotice: () => {} };
// One statement's worth of rows: large enough to be quick, small enough for one bind message.
const CHUNK = 10_000;

/**
 * Creates `bench_run_<label>_<unique>`, applies the migrations, and registers its drop (with
 * `force`, so a dispatcher still connected cannot keep it alive) on `scope`.
 */
export async function createDatabase(adminUrl: string, label: string, scope: Scope): Promise<BenchDatabase> {
  const name = `bench_run_${label}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, ...quiet });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  // One connection: the set-up is sequential anyway, and backendCpuMicros can then tell the
  // benchmark's own backend from the dispatcher's.
  const sql = postgres(url.toString(), { max: 1, ...quiet });
  scope.defer(`drop database ${name}`, async () => {
    await sql.end({ timeout: 2 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  await applyMigrations(sql);
  return { name, url: url.toString(), sql };
}

/** Inserts `count` succeeded jobs whose webhook URL is `urlOf(i)`; returns their ids in order. */
export async function insertJobs(
  sql: postgres.Sql,
  options: { count: number; secret: string; urlOf: (index: number) => string },
): Promise<string[]> {
  const ids = Array.from({ length: options.count }, () => randomUUID());
  for (let start = 0; start < ids.length; start += CHUNK) {
    const slice = ids.slice(start, start + CHUNK);
    const urls = slice.map((_, i) => options.urlOf(start + i));
    await sql`
      insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
      select id, 'succeeded', now(), ${OUTPUT_MARKUP}, url, ${options.secret}
      from unnest(${sql.array(slice)}::uuid[], ${sql.array(urls)}::text[]) as t(id, url)`;
  }
  return ids;
}

/** One outbox row per job, as a producer's transaction would leave them. */
export async function insertOutbox(sql: postgres.Sql, jobIds: readonly string[]): Promise<void> {
  for (let start = 0; start < jobIds.length; start += CHUNK) {
    await sql`
      insert into webhook_outbox (job_id, event, trace_id)
      select id, ${EVENT}, 'bench' from unnest(${sql.array(jobIds.slice(start, start + CHUNK))}::uuid[]) as t(id)`;
  }
}

/**
 * `count` pending deliveries first due `dueInHours` from now (spread over a minute), with a
 * realistic ~300-byte payload and a unique `msg_` webhook id, written by generate_series in
 * one statement. Their jobs do not exist: nothing reads them before they are due.
 */
export async function insertPendingDeliveries(
  sql: postgres.Sql,
  options: { count: number; dueInHours: number; url: string },
): Promise<void> {
  await sql`
    insert into webhook_deliveries
      (id, webhook_id, job_id, event, url, payload, status, next_attempt_at, trace_id, created_at, updated_at)
    select id, 'msg_' || replace(id::text, '-', ''), job_id, ${EVENT}, ${options.url},
           convert_to(json_build_object('job_id', job_id, 'status', 'succeeded', 'finished_at', now(),
                                        'output_markup', ${OUTPUT_MARKUP}::text)::text, 'UTF8'),
           'pending', now() + make_interval(hours => ${options.dueInHours}) + g * interval '60 microseconds',
           'bench', now(), now()
    from (select gen_random_uuid() as id, gen_random_uuid() as job_id, g from generate_series(1, ${options.count}::int) as g) as s`;
}

/**
 * CPU so far (µs) of every Postgres backend connected to this database except the caller's own
 * and those of `exceptApplication` (a producer's), by pid: the server-side work done for the
 * dispatcher. Read from /proc, so it needs the server on this machine; an unreadable backend counts 0.
 */
export async function backendCpuMicros(sql: postgres.Sql, exceptApplication = ""): Promise<Map<number, number>> {
  const rows = await sql<{ pid: number }[]>`
    select pid from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and application_name <> ${exceptApplication}`;
  const out = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      out.set(pid, cpuMicrosOf(pid));
    } catch {
      out.set(pid, 0);
    }
  }
  return out;
}

/** CPU the backends used between two backendCpuMicros snapshots, µs; one that connected meanwhile counts from 0. */
export function backendCpuGrowth(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let micros = 0;
  for (const [pid, now] of after) micros += now - (before.get(pid) ?? 0);
  return micros;
}

/** Polls the number of deliveries in `status` every `everyMs` until it reaches `count`. */
export async function waitForStatusCount(
  sql: postgres.Sql,
  options: { status: "sent" | "failed"; count: number; everyMs: number; signal: AbortSignal },
): Promise<void> {
  for (;;) {
    options.signal.throwIfAborted();
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = ${options.status}`;
    if ((row?.n ?? 0) >= options.count) return;
    await new Promise((resolve) => setTimeout(resolve, options.everyMs));
  }
}
