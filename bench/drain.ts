/**
 * What every scenario shares: the context of one benchmark invocation, repeating a measurement
 * (warm-up, then N runs, each in its own time-bounded scope), and timing one dispatcher process
 * that drains a known number of events to `sent`.
 */
import type postgres from "postgres";
import { backendCpuMicros, waitForStatusCount } from "./database.ts";
import { dispatcherEnv, startDispatcher } from "./dispatcher-process.ts";
import type { Receiver } from "./receiver-client.ts";
import { round } from "./stats.ts";
import { withDeadline, type Scope } from "./scope.ts";

export interface BenchContext {
  /** Postgres URL of a database the benchmark may create databases from. */
  readonly adminUrl: string;
  readonly brokers: readonly string[];
  readonly receiver: Receiver;
  /** The webhook secret of every benchmark job (`whsec_…`). */
  readonly secret: string;
  /** Events per throughput run (BENCH_EVENTS). */
  readonly events: number;
  /** Measured runs per scenario (BENCH_RUNS). */
  readonly runs: number;
}

/** A generous bound for draining `events`: start-up, plus 3 ms per event (about 330 events/s). */
export function drainDeadlineMs(events: number): number {
  return 120_000 + events * 3;
}

/** Runs a warm-up, then `ctx.runs` measured runs; each run gets its own scope and deadline. */
export async function repeat<T>(
  ctx: BenchContext,
  label: string,
  deadlineMs: number,
  run: (scope: Scope, kind: "warm-up" | "measured") => Promise<T>,
  describe: (result: T) => string,
): Promise<T[]> {
  await withDeadline(`${label} warm-up`, deadlineMs, (scope) => run(scope, "warm-up"));
  const results: T[] = [];
  for (let i = 1; i <= ctx.runs; i++) {
    const result = await withDeadline(`${label} run ${i}/${ctx.runs}`, deadlineMs, (scope) => run(scope, "measured"));
    console.error(`bench: ${label} run ${i}/${ctx.runs}: ${describe(result)}`);
    results.push(result);
  }
  return results;
}

export interface DrainResult {
  readonly events: number;
  /** From the dispatcher ready (/healthz answers) to all `events` sent, ms: the headline time. */
  readonly drainMs: number;
  /** From spawning the process, start-up and migrations included, ms. */
  readonly drainMsFromSpawn: number;
  /** From the first to the last receipt at the receiver: the rate once work flows, ms. */
  readonly steadyMs: number;
  readonly eventsPerSecond: number;
  readonly steadyEventsPerSecond: number;
  /** Dispatcher CPU (user + system) from ready to drained, per event, µs. */
  readonly cpuUsPerDelivery: number;
  readonly peakRssBytes: number;
  /**
   * CPU of the Postgres backends serving the dispatcher, per event, µs (not counted: WAL writer,
   * checkpointer, autovacuum, which other databases' work shares).
   */
  readonly postgresCpuUsPerDelivery: number;
  /** Receiver CPU per request, µs, over the whole run. */
  readonly receiverCpuUsPerRequest: number;
  readonly signatureFailures: number;
  /**
   * Deliveries to /ok whose attempt failed on the way (a connection error, say) and now wait for
   * their retry; counted as drained, since their attempt was made. With the error of each kind.
   */
  readonly retriedAfterError: number;
  readonly retryErrors: readonly string[];
}

/** No new receipt for this long, with every missing one waiting for a retry: the drain is over. */
const STALL_MS = 10_000;

/**
 * What holds the healthy deliveries not yet sent: one line per status, attempts made and lease,
 * with when they are due relative to now (an explanation for a drain that stalls or times out).
 */
async function describeUnsent(sql: postgres.Sql): Promise<string> {
  const rows = await sql<{ line: string }[]>`
    select count(*) || ' ' || status || ' after ' || attempts || ' attempt(s)'
        || case when lease_token is null then '' else ', leased' end
        || ', due in ' || round(extract(epoch from min(next_attempt_at) - now())::numeric, 1)
        || ' to ' || round(extract(epoch from max(next_attempt_at) - now())::numeric, 1) || ' s' as line
    from webhook_deliveries
    where url like '%/ok' and status <> 'sent'
    group by status, attempts, lease_token is null
    order by count(*) desc`;
  return rows.length === 0 ? "every /ok delivery is sent" : `/ok deliveries not sent: ${rows.map((r) => r.line).join("; ")}`;
}

/**
 * Waits until `events` distinct jobs reached /ok, or until receipts stop with every missing one
 * pending a retry after a failed attempt (with S3's one-hour retry delay a single connection
 * reset would otherwise hold the drain for an hour). Returns when the last receipt came
 * (bench clock) and how many are waiting for a retry.
 */
async function waitForHealthy(
  ctx: BenchContext,
  sql: postgres.Sql,
  events: number,
  signal: AbortSignal,
): Promise<{ doneAt: number; retried: number }> {
  const deadline = performance.now() + drainDeadlineMs(events);
  let reached = -1;
  let progressAt = performance.now();
  let stallReported = false;
  for (;;) {
    signal.throwIfAborted();
    const now = (await ctx.receiver.stats()).counts["/ok"]?.unique ?? 0;
    if (now !== reached) {
      reached = now;
      progressAt = performance.now();
      stallReported = false;
    }
    if (reached >= events) return { doneAt: progressAt, retried: 0 };
    if (performance.now() - progressAt > STALL_MS) {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from webhook_deliveries where status = 'pending' and attempts > 0 and url like '%/ok'`;
      if (reached + (row?.n ?? 0) >= events) return { doneAt: progressAt, retried: row?.n ?? 0 };
      if (!stallReported) {
        // Not a retry: something holds deliveries that were never attempted. Say what, once per stall.
        console.error(`bench: no receipt for ${STALL_MS / 1000} s at ${reached} of ${events}; ${await describeUnsent(sql)}`);
        stallReported = true;
      }
    }
    if (performance.now() > deadline) throw new Error(`no answer within ${drainDeadlineMs(events)} ms; ${await describeUnsent(sql)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Starts a dispatcher with `env` on `database` and waits until `events` distinct jobs reached the
 * receiver's /ok (or wait for a retry after a failed attempt) and as many are `sent` in the database.
 */
export async function measureDrain(
  ctx: BenchContext,
  scope: Scope,
  options: { env: Record<string, string>; sql: postgres.Sql; events: number },
): Promise<DrainResult> {
  await ctx.receiver.reset();
  const dispatcher = await startDispatcher(dispatcherEnv(options.env));
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
  const cpuAtReady = dispatcher.cpuMicros();
  const backendsAtReady = await backendCpuMicros(options.sql);
  let healthy: { doneAt: number; retried: number };
  try {
    healthy = await waitForHealthy(ctx, options.sql, options.events, scope.signal);
    // Receipt comes before the completion write; polling only now keeps its cost off the drain.
    await waitForStatusCount(options.sql, { status: "sent", count: options.events - healthy.retried, everyMs: 20, signal: scope.signal });
  } catch (error) {
    const stats = await ctx.receiver.stats().catch(() => null);
    const reached = stats?.counts["/ok"]?.unique ?? "?";
    const status = dispatcher.exitStatus();
    const state = status === null ? "the dispatcher still runs" : `the dispatcher exited: ${status}`;
    throw new Error(`${(error as Error).message} (${reached} of ${options.events} jobs reached /ok; ${state})\n${dispatcher.logTail().join("\n")}`);
  }
  const drainedAt = healthy.retried > 0 ? healthy.doneAt : performance.now();
  const cpuMicros = dispatcher.cpuMicros() - cpuAtReady;
  const peakRssBytes = dispatcher.peakRssBytes();
  let postgresMicros = 0;
  for (const [pid, micros] of await backendCpuMicros(options.sql)) postgresMicros += micros - (backendsAtReady.get(pid) ?? 0);
  const stats = await ctx.receiver.stats();
  const retryErrors = healthy.retried === 0 ? [] : await options.sql<{ line: string }[]>`
    select coalesce(a.error_kind, 'HTTP ' || a.status_code) || ': ' || coalesce(a.error_message, '') || ' (' || count(*) || ')' as line
    from webhook_delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id
    where d.status = 'pending' and d.url like '%/ok'
    group by a.error_kind, a.status_code, a.error_message`;
  await dispatcher.stop();
  const drainMs = drainedAt - dispatcher.readyAt;
  const steadyMs = Math.max(stats.lastOkAt - stats.firstOkAt, 1);
  const requests = Object.values(stats.counts).reduce((sum, c) => sum + c.requests, 0);
  return {
    events: options.events,
    drainMs: round(drainMs),
    drainMsFromSpawn: round(drainedAt - dispatcher.spawnedAt),
    steadyMs: round(steadyMs),
    eventsPerSecond: round(options.events / (drainMs / 1000)),
    steadyEventsPerSecond: round(options.events / (steadyMs / 1000)),
    cpuUsPerDelivery: round(cpuMicros / options.events, 1),
    peakRssBytes,
    postgresCpuUsPerDelivery: round(postgresMicros / options.events, 1),
    receiverCpuUsPerRequest: round(stats.cpuMicros / Math.max(requests, 1), 1),
    signatureFailures: stats.signatureFailures,
    retriedAfterError: healthy.retried,
    retryErrors: retryErrors.map((row) => row.line),
  };
}

export function describeDrain(result: DrainResult): string {
  return `${result.eventsPerSecond} events/s (${(result.drainMs / 1000).toFixed(1)} s), ${result.cpuUsPerDelivery} µs CPU/delivery, peak RSS ${Math.round(result.peakRssBytes / 2 ** 20)} MiB`;
}
