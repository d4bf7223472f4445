/**
 * Baseline B1: graphile-worker 0.17 (the last line that runs on Node 20) doing the dispatcher's
 * per-delivery work as a task, against the same receiver and database. Measures the drain of a
 * backlog of `events` jobs, like S1(a) measures the drain of an outbox backlog.
 *
 * Not measured: installing graphile's schema and enqueueing (one add_jobs statement), just as the
 * outbox rows are in place before S1(a) starts. Measured: from the moment the already-loaded
 * worker process is told to call graphile's run() until graphile's queue holds none of our jobs
 * (completion batches included). CPU and peak RSS are those of the worker process alone, read
 * from /proc; its module loading happens before the clock and the CPU snapshot. The CPU of the
 * Postgres backends serving it is reported apart, as S1 reports the dispatcher's.
 *
 * The settings are described in ../graphile/settings.ts.
 */
import { fileURLToPath } from "node:url";
import { Logger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import { backendCpuGrowth, backendCpuMicros } from "../database.ts";
import { createAttemptsTable, successfulAttempts } from "../deliver-job.ts";
import { type GraphileSettings, TASK_IDENTIFIER } from "../graphile/settings.ts";
import type { WorkerProcessConfig } from "../graphile/worker-process.ts";
import { spawnWorkerChild, timeDrain } from "../worker-child.ts";

export interface GraphileBaselineOptions {
  databaseUrl: string;
  receiverUrl: string;
  secret: string;
  events: number;
  settings: GraphileSettings;
}

export interface GraphileBaselineResult {
  drainMs: number;
  eventsPerSecond: number;
  cpuUsPerDelivery: number;
  /** CPU of the Postgres backends serving the worker (its queue and its task's statements), µs per job. */
  postgresCpuUsPerDelivery: number;
  peakRssBytes: number;
}

const WORKER_FILE = fileURLToPath(new URL("../graphile/worker-process.ts", import.meta.url));
// The dispatcher's WEBHOOK_TIMEOUT default.
const DEADLINE_MS = 30_000;
const silentLogger = new Logger(() => () => {});

export async function runGraphileBaseline(options: GraphileBaselineOptions): Promise<GraphileBaselineResult> {
  const sql = postgres(options.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await prepare(sql, options);
    const okBefore = await successfulAttempts(sql);
    const result = await drain(sql, options);
    // Guards against a baseline that is fast because it skipped work.
    const delivered = (await successfulAttempts(sql)) - okBefore;
    if (delivered < options.events) throw new Error(`B1: only ${delivered} of ${options.events} deliveries answered 2xx`);
    return result;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** graphile's schema, the attempts table, and one graphile job per row of `jobs`. Not timed. */
async function prepare(sql: postgres.Sql, options: GraphileBaselineOptions): Promise<void> {
  await runMigrations({ connectionString: options.databaseUrl, schema: "graphile_worker", logger: silentLogger });
  await createAttemptsTable(sql);
  // Jobs left by an interrupted earlier run would be drained too and skew the count.
  await sql`
    delete from graphile_worker._private_jobs
    where task_id in (select id from graphile_worker._private_tasks where identifier = ${TASK_IDENTIFIER})`;
  // Earlier runs in this database leave dead job rows; start each run from the same state.
  await sql.unsafe("vacuum analyze graphile_worker._private_jobs");

  const mismatched = await sql<{ n: number }[]>`
    select count(*)::int as n from jobs
    where webhook_url is distinct from ${`${options.receiverUrl}/ok`} or webhook_secret is distinct from ${options.secret}`;
  if ((mismatched[0]?.n ?? 0) > 0) {
    console.warn(`B1: ${mismatched[0]?.n} job rows point elsewhere than ${options.receiverUrl}/ok or use another secret; the task follows the rows`);
  }

  // graphile's bulk enqueue (add_jobs), in one statement: the fastest fair way to build the backlog.
  const added = await sql<{ n: number }[]>`
    select count(*)::int as n from graphile_worker.add_jobs(array(
      select row(${TASK_IDENTIFIER}::text, json_build_object('job_id', id), null, null, null, null, null, null)::graphile_worker.job_spec
      from (select id from jobs order by id limit ${options.events}) as backlog
    ))`;
  if (added[0]?.n !== options.events) {
    throw new Error(`B1: the jobs table holds ${added[0]?.n ?? 0} rows, ${options.events} needed`);
  }
  await sql.unsafe("analyze graphile_worker._private_jobs");
  // As the harness does after its own set-up: the drain is not charged for flushing these writes.
  await sql`checkpoint`;
}

async function drain(sql: postgres.Sql, options: GraphileBaselineOptions): Promise<GraphileBaselineResult> {
  const config: WorkerProcessConfig = {
    connectionString: options.databaseUrl,
    settings: options.settings,
    events: options.events,
    fallbackUrl: `${options.receiverUrl}/ok`,
    fallbackSecret: options.secret,
    timeoutMs: DEADLINE_MS,
  };
  // NO_LOG_SUCCESS=1 is graphile's own switch for its per-job "Completed task" info line: the
  // harness runs the dispatcher with LOG_LEVEL=warn, which drops its per-delivery line too.
  const child = spawnWorkerChild({ label: "B1", file: WORKER_FILE, config, env: { NO_LOG_SUCCESS: "1" } });
  try {
    await child.next("ready");
    const backendsBefore = await backendCpuMicros(sql);
    const timed = await timeDrain(child, "B1", () => queuedJobs(sql));
    const postgresMicros = backendCpuGrowth(backendsBefore, await backendCpuMicros(sql));
    return {
      drainMs: timed.drainMs,
      eventsPerSecond: options.events / (timed.drainMs / 1000),
      cpuUsPerDelivery: timed.cpuMicros / options.events,
      postgresCpuUsPerDelivery: postgresMicros / options.events,
      peakRssBytes: timed.peakRssBytes,
    };
  } finally {
    await child.stop();
  }
}

async function queuedJobs(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ n: number }[]>`
    select count(*)::int as n from graphile_worker._private_jobs
    where task_id = (select id from graphile_worker._private_tasks where identifier = ${TASK_IDENTIFIER})`;
  return rows[0]?.n ?? 0;
}
