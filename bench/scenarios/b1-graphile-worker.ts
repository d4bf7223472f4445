/**
 * Baseline B1: graphile-worker 0.17 (the last line that runs on Node 20) doing the dispatcher's
 * per-delivery work as a task, against the same receiver and database. Measures the drain of a
 * backlog of `events` jobs, like S1(a) measures the drain of an outbox backlog.
 *
 * Not measured: installing graphile's schema and enqueueing (one add_jobs statement), just as the
 * outbox rows are in place before S1(a) starts. Measured: from the moment the already-loaded
 * worker process is told to call graphile's run() until graphile's queue holds none of our jobs
 * (completion batches included). CPU and peak RSS are those of the worker process alone, read
 * from /proc; its module loading happens before the clock and the CPU snapshot.
 *
 * The two settings are described in ../graphile/settings.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Logger, runMigrations } from "graphile-worker";
import postgres from "postgres";
import { type GraphileSettings, TASK_IDENTIFIER } from "../graphile/settings.ts";
import type { WorkerProcessConfig } from "../graphile/worker-process.ts";
import { cpuMicrosOf, statusKilobytes } from "../proc-stats.ts";

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
  peakRssBytes: number;
}

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const WORKER_FILE = fileURLToPath(new URL("../graphile/worker-process.ts", import.meta.url));
// The child runs the TypeScript worker through tsx's loader inside the node process itself, so
// the pid we read /proc of is the worker (not an npx or tsx wrapper).
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
// The dispatcher's WEBHOOK_TIMEOUT default.
const DEADLINE_MS = 30_000;
// How often the end of the drain is checked once every job has reported success.
const END_POLL_MS = 5;
// A drain in which no job leaves the queue for this long is reported as stuck, not waited for.
const STALL_MS = 120_000;
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
  // One row per attempt, as the dispatcher's webhook_delivery_attempts.
  await sql`
    create table if not exists bench_attempts (
      job_id uuid not null,
      status_code int,
      started_at timestamptz not null,
      duration_ms int not null,
      error text
    )`;
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
  const child = spawn(process.execPath, ["--import", TSX_LOADER, WORKER_FILE, JSON.stringify(config)], {
    cwd: REPO_ROOT,
    // Only what it needs, like the harness's dispatcher (no stray DATABASE_URL / GRAPHILE_* vars).
    // NO_LOG_SUCCESS=1 is graphile's own switch for its per-job "Completed task" info line: the
    // harness runs the dispatcher with LOG_LEVEL=warn, which drops its per-delivery line too.
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", NO_LOG_SUCCESS: "1" },
    // stdout (graphile's remaining info lines) to /dev/null; stderr (warnings, errors) passed on.
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("B1: the worker process did not start");
  const messages = watch(child);
  try {
    await messages.next("ready");
    const cpuBefore = cpuMicrosOf(pid);
    const startedAt = performance.now();
    child.send("start");

    const drained = new AbortController();
    const guard = stallGuard(sql, messages.failures, drained.signal);
    try {
      await Promise.race([messages.next("succeeded"), guard]);
      while ((await queuedJobs(sql)) > 0) await sleep(END_POLL_MS);
    } finally {
      drained.abort();
      await guard.catch(() => {});
    }
    const drainMs = performance.now() - startedAt;
    const cpuUs = cpuMicrosOf(pid) - cpuBefore;
    const peakRssBytes = statusKilobytes(pid, "VmHWM") * 1024;

    if (messages.failures.count > 0) {
      console.warn(`B1: ${messages.failures.count} attempts failed and were retried (first: ${messages.failures.first})`);
    }
    return {
      drainMs,
      eventsPerSecond: options.events / (drainMs / 1000),
      cpuUsPerDelivery: cpuUs / options.events,
      peakRssBytes,
    };
  } finally {
    await stopChild(child);
  }
}

interface Watcher {
  next(type: string): Promise<void>;
  readonly failures: { count: number; first: string | null };
}

/** Waits for the child's messages by type; rejects every waiter when the child exits early. */
function watch(child: ChildProcess): Watcher {
  const seen = new Set<string>();
  const waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const failures = { count: 0, first: null as string | null };
  let exitError: Error | null = null;
  child.on("message", (raw) => {
    const message = raw as { type: string; count?: number; message?: string };
    if (message.type === "failed") {
      failures.count = message.count ?? failures.count + 1;
      failures.first ??= message.message ?? null;
    } else if (message.type === "error") {
      exitError = new Error(`B1 worker failed: ${message.message}`);
    }
    seen.add(message.type);
    waiters.get(message.type)?.resolve();
  });
  child.on("exit", (code, signal) => {
    exitError ??= new Error(`B1 worker exited early (code ${code}, signal ${signal})`);
    for (const waiter of waiters.values()) waiter.reject(exitError);
  });
  return {
    failures,
    next: (type) =>
      new Promise<void>((resolve, reject) => {
        if (seen.has(type)) return resolve();
        if (exitError !== null) return reject(exitError);
        waiters.set(type, { resolve, reject });
      }),
  };
}

/**
 * Rejects when no job has left graphile's queue for STALL_MS (e.g. a receiver that never says
 * 2xx); returns quietly once `signal` aborts. One count query per 5 s: negligible load.
 */
async function stallGuard(sql: postgres.Sql, failures: Watcher["failures"], signal: AbortSignal): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  while (!signal.aborted) {
    try {
      await sleep(5_000, undefined, { signal });
    } catch {
      return; // aborted: the drain finished
    }
    const left = await queuedJobs(sql);
    if (left !== last) [last, lastChange] = [left, performance.now()];
    if (performance.now() - lastChange > STALL_MS) {
      throw new Error(`B1: ${left} jobs stuck for ${STALL_MS / 1000} s; ${failures.count} failed attempts, first: ${failures.first}`);
    }
  }
}

async function queuedJobs(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ n: number }[]>`
    select count(*)::int as n from graphile_worker._private_jobs
    where task_id = (select id from graphile_worker._private_tasks where identifier = ${TASK_IDENTIFIER})`;
  return rows[0]?.n ?? 0;
}

async function successfulAttempts(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ n: number }[]>`select count(*)::int as n from bench_attempts where status_code between 200 and 299`;
  return rows[0]?.n ?? 0;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.send("stop");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}
