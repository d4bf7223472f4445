/**
 * S2(a), outbox streaming latency: another process (bench/outbox-producer.ts) commits outbox
 * rows open-loop — on a fixed schedule, whatever the dispatcher does — at 200/s and 1,000/s,
 * ~10 s each, one after the other on one dispatcher that reads only the outbox, at the default
 * POLL_INTERVAL, so rows are found by the poll. The jobs' webhooks spread over the receiver's eight origins. Latency is receipt
 * time at the receiver minus the event's scheduled time, so the producer's own lateness (it
 * shares 2 cores with everything else) is included; commit → receipt and the producer's lag
 * (COMMIT returned minus schedule) are reported beside it. An event that has not arrived 30 s
 * after the last commit fails the run.
 */
import type postgres from "postgres";
import { backendCpuMicros, createDatabase, insertJobs, waitForStatusCount, type BenchDatabase } from "../database.ts";
import { dispatcherEnv, startDispatcher, type DispatcherProcess } from "../dispatcher-process.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { PRODUCER_APPLICATION_NAME, startOutboxProducer, type OutboxProducer, type ProducedEvents } from "../outbox-producer-client.ts";
import type { Scope } from "../scope.ts";
import { percentile, receiptLatencies, round } from "../stats.ts";
import { summarizeRate, type RateResult } from "./s2-latency.ts";

/** Events committed before measuring, so the listener, the pools and the code paths are warm. */
const PRIMING_EVENTS = 200;
const RATES = [
  { label: "200/s", ratePerSecond: 200 },
  { label: "1000/s", ratePerSecond: 1000 },
] as const;
/** How long after its last commit a rate's events may still arrive before the run fails, ms. */
const ARRIVAL_GRACE_MS = 30_000;
/** From handing the producer its events to the first one due, ms: the IPC hop and its first timer. */
const START_DELAY_MS = 50;

/** S2's per-rate result (latency from the scheduled time; producer lag is COMMIT returned minus schedule), plus: */
export interface OutboxRateResult extends RateResult {
  /** Receipt minus when the producer's COMMIT returned, ms. */
  readonly commitToReceiptP50Ms: number;
  readonly commitToReceiptP99Ms: number;
  /** Dispatcher CPU from this rate's first event to its last delivery `sent`, per delivery, µs. */
  readonly cpuUsPerDelivery: number;
  /** CPU of the dispatcher's Postgres backends over the same window, per delivery, µs. */
  readonly postgresCpuUsPerDelivery: number;
  /** The producer process's CPU per committed row, µs. */
  readonly producerCpuUsPerEvent: number;
}

export interface OutboxLatencyResult {
  readonly rates: OutboxRateResult[];
  readonly peakRssBytes: number;
}

export async function runOutboxLatency(ctx: BenchContext): Promise<OutboxLatencyResult[]> {
  return repeat(ctx, "S2(a) outbox latency", 300_000, (scope, kind) => measureOutboxRates(ctx, scope, kind === "warm-up" ? 3_000 : 10_000), (r) =>
    r.rates
      .map((rate) => `${rate.label}: p50 ${rate.p50Ms} ms, p99 ${rate.p99Ms} ms, max ${rate.maxMs} ms (commit → receipt p99 ${rate.commitToReceiptP99Ms} ms, producer lag p99 ${rate.producerLagP99Ms} ms), ${rate.cpuUsPerDelivery} µs CPU/delivery`)
      .join("; "),
  );
}

/** What one run's rates share. */
interface Run {
  readonly ctx: BenchContext;
  readonly scope: Scope;
  readonly database: BenchDatabase;
  readonly dispatcher: DispatcherProcess;
  readonly producer: OutboxProducer;
}

async function measureOutboxRates(ctx: BenchContext, scope: Scope, durationMs: number): Promise<OutboxLatencyResult> {
  const counts = RATES.map((r) => Math.ceil((r.ratePerSecond * durationMs) / 1000));
  const database = await createDatabase(ctx.adminUrl, "s2a", scope);
  const { origins } = ctx.receiver;
  const jobIds = await insertJobs(database.sql, {
    count: PRIMING_EVENTS + counts.reduce((sum, n) => sum + n, 0),
    secret: ctx.secret,
    urlOf: (i) => `${origins[i % origins.length]}/ok`,
  });
  await database.sql`checkpoint`;
  await ctx.receiver.reset();
  // Eight origins at the default WEBHOOK_MAX_PER_DESTINATION (16) allow 128 in flight, more
  // than DISPATCH_CONCURRENCY (64): the per-destination limit is not what is measured.
  const dispatcher = await startDispatcher(dispatcherEnv({ DATABASE_URL: database.url }));
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
  const producer = await startOutboxProducer(database.url, scope);
  const run: Run = { ctx, scope, database, dispatcher, producer };

  await produceAndWait(run, "priming", jobIds.slice(0, PRIMING_EVENTS), 1000, PRIMING_EVENTS);
  let next = PRIMING_EVENTS;
  const rates: OutboxRateResult[] = [];
  for (const [i, { label, ratePerSecond }] of RATES.entries()) {
    const ids = jobIds.slice(next, next + counts[i]!);
    next += ids.length;
    rates.push(await measureRate(run, label, ratePerSecond, ids, next));
  }
  const result = { rates, peakRssBytes: dispatcher.peakRssBytes() };
  await dispatcher.stop();
  return result;
}

/** One rate: `ids` committed on schedule, each received, and the CPU spent on them. `receivedInAll` counts earlier rates too. */
async function measureRate(run: Run, label: string, ratePerSecond: number, ids: readonly string[], receivedInAll: number): Promise<OutboxRateResult> {
  const { sql } = run.database;
  const cpuBefore = run.dispatcher.cpuMicros();
  const backendsBefore = await backendCpuMicros(sql, PRODUCER_APPLICATION_NAME);
  const produced = await produceAndWait(run, label, ids, ratePerSecond, receivedInAll);
  // Receipt comes before the completion write: the window ends once those are written too.
  await waitForStatusCount(sql, { status: "sent", count: receivedInAll, everyMs: 20, signal: run.scope.signal });
  const cpuMicros = run.dispatcher.cpuMicros() - cpuBefore;
  let postgresMicros = 0;
  for (const [pid, micros] of await backendCpuMicros(sql, PRODUCER_APPLICATION_NAME)) postgresMicros += micros - (backendsBefore.get(pid) ?? 0);

  const receipts = await run.ctx.receiver.receipts("/ok");
  const fromCommit = receiptLatencies(`S2(a) ${label}`, ids, produced.committedAt, receipts);
  const lags = produced.committedAt.map((at, k) => at - produced.scheduledAt[k]!);
  return {
    ...summarizeRate(`S2(a) ${label}`, label, ratePerSecond, ids, produced.scheduledAt, lags, receipts),
    commitToReceiptP50Ms: round(percentile(fromCommit, 0.5), 2),
    commitToReceiptP99Ms: round(percentile(fromCommit, 0.99), 2),
    producerLagP99Ms: round(percentile(lags, 0.99), 2),
    cpuUsPerDelivery: round(cpuMicros / ids.length, 1),
    postgresCpuUsPerDelivery: round(postgresMicros / ids.length, 1),
    producerCpuUsPerEvent: round(produced.cpuMicros / ids.length, 1),
  };
}

/**
 * Has the producer commit `ids` at `ratePerSecond` from a moment ago, then waits until
 * `receivedInAll` distinct jobs reached /ok; throws, saying what holds the missing events,
 * when they have not within ARRIVAL_GRACE_MS of the last commit.
 */
async function produceAndWait(run: Run, label: string, ids: readonly string[], ratePerSecond: number, receivedInAll: number): Promise<ProducedEvents> {
  const startAt = performance.timeOrigin + performance.now() + START_DELAY_MS;
  const produced = await run.producer.produce({ jobIds: ids, ratePerSecond, startAt }, run.scope.signal);
  try {
    await run.ctx.receiver.waitFor("/ok", receivedInAll, ARRIVAL_GRACE_MS, run.scope.signal);
  } catch (error) {
    run.scope.signal.throwIfAborted();
    const reached = (await run.ctx.receiver.stats()).counts["/ok"]?.unique ?? 0;
    throw new Error(
      `S2(a) ${label}: ${receivedInAll - reached} of ${receivedInAll} events not received ${ARRIVAL_GRACE_MS / 1000} s after the last commit ` +
        `(${(error as Error).message}); ${await describeBacklog(run.database.sql)}\n${run.dispatcher.logTail().join("\n")}`,
    );
  }
  return produced;
}

/** Where events that did not arrive can be: outbox rows not yet taken, deliveries by status. */
async function describeBacklog(sql: postgres.Sql): Promise<string> {
  const [outbox] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_outbox where processed_at is null`;
  const deliveries = await sql<{ line: string }[]>`
    select count(*) || ' ' || status || case when attempts > 0 then ' after an attempt' else '' end as line
    from webhook_deliveries group by status, attempts > 0 order by count(*) desc`;
  return `${outbox?.n ?? 0} outbox rows unprocessed; deliveries: ${deliveries.map((row) => row.line).join(", ") || "none"}`;
}
