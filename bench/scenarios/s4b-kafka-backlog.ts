/**
 * S4(b), memory while draining a Kafka backlog: what an outage leaves, events produced before the
 * dispatcher starts, gzip-compressed on a 4-partition topic, for jobs spread over the receiver's
 * eight origins. One dispatcher drains 10,000 events, another 200,000; their peak resident memory
 * (VmHWM) is compared — what the process holds should depend on what it reads at once, not on
 * how far behind it is. A second scenario drains 150,000 with the V8 heap capped at 160 MB,
 * which aborted (out of memory) before the first webhook when a fetch held ~120,000 events.
 * Every drain checks that each event reached the receiver exactly once and that its delivery
 * row is `sent`; a dispatcher that exits, or an event missing, fails the scenario.
 */
import { CompressionTypes } from "kafkajs";
import type postgres from "postgres";
import { createDatabase, insertJobs } from "../database.ts";
import { dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { drainDeadlineMs, repeat, type BenchContext } from "../drain.ts";
import { createTopic, produceEvents } from "../kafka-topics.ts";
import { round } from "../stats.ts";
import { sleep, withDeadline, type Scope } from "../scope.ts";

/**
 * The larger backlog of S4(b). The smaller one is 10,000, or half of this if less: a drain of a
 * second or two ends before the process reaches its working size (1,000 events peaked at 195 MiB
 * where 10,000 and 200,000 both peaked near 275 MiB), which would count as growth.
 */
export const KAFKA_BACKLOG = Number(process.env.BENCH_KAFKA_BACKLOG ?? 200_000);
/** The backlog drained with the heap capped. */
export const HEAP_CAP_BACKLOG = Number(process.env.BENCH_HEAP_CAP_BACKLOG ?? 150_000);
/** `--max-old-space-size` of the capped drain, MB. */
export const HEAP_CAP_MB = 160;
/** Compressed, a fetch of a given byte size holds about four times as many of these events. */
const COMPRESSION = CompressionTypes.GZIP;

export interface BacklogDrainResult {
  readonly events: number;
  readonly peakRssBytes: number;
  /** From ready (/healthz answers) to every event's delivery `sent`, ms. */
  readonly drainMs: number;
  readonly eventsPerSecond: number;
}

export interface KafkaBacklogMemoryResult {
  readonly smallEvents: number;
  readonly largeEvents: number;
  readonly smallPeakRssBytes: number;
  readonly largePeakRssBytes: number;
  readonly growthBytes: number;
  readonly smallDrainMs: number;
  readonly largeDrainMs: number;
}

export async function runKafkaBacklogMemory(ctx: BenchContext): Promise<KafkaBacklogMemoryResult[]> {
  const sizesOf = (kind: "warm-up" | "measured") => {
    const large = kind === "warm-up" ? Math.min(KAFKA_BACKLOG, 20_000) : KAFKA_BACKLOG;
    return { small: Math.min(10_000, Math.round(large / 2)), large };
  };
  const { small, large } = sizesOf("measured");
  const deadlineMs = drainDeadlineMs(small) + drainDeadlineMs(large) + 120_000;
  return repeat(ctx, "S4(b) kafka backlog memory", deadlineMs, async (scope, kind) => {
    const sizes = sizesOf(kind);
    const smaller = await drainBacklog(ctx, scope, sizes.small, {});
    const larger = await drainBacklog(ctx, scope, sizes.large, {});
    return {
      smallEvents: sizes.small,
      largeEvents: sizes.large,
      smallPeakRssBytes: smaller.peakRssBytes,
      largePeakRssBytes: larger.peakRssBytes,
      growthBytes: larger.peakRssBytes - smaller.peakRssBytes,
      smallDrainMs: smaller.drainMs,
      largeDrainMs: larger.drainMs,
    };
  }, (r) => `peak RSS ${mib(r.smallPeakRssBytes)} MiB at ${r.smallEvents}, ${mib(r.largePeakRssBytes)} MiB at ${r.largeEvents} (growth ${mib(r.growthBytes)} MiB)`);
}

/** One run, no warm-up: a check that the capped process survives, not a measurement to repeat. */
export async function runKafkaBacklogHeapCap(ctx: BenchContext): Promise<BacklogDrainResult[]> {
  const label = `S4(b) kafka backlog of ${HEAP_CAP_BACKLOG} with a ${HEAP_CAP_MB} MB heap`;
  const result = await withDeadline(label, drainDeadlineMs(HEAP_CAP_BACKLOG) + 120_000, (scope) =>
    drainBacklog(ctx, scope, HEAP_CAP_BACKLOG, { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}` }));
  console.error(`bench: ${label}: ${result.eventsPerSecond} events/s, peak RSS ${mib(result.peakRssBytes)} MiB`);
  return [result];
}

/**
 * A fresh database and topic holding `events` events, then a dispatcher (with `env`) started on
 * them and watched until every event is delivered; throws when it exits first, when the drain
 * passes its deadline, or when an event arrived other than once.
 */
async function drainBacklog(ctx: BenchContext, scope: Scope, events: number, env: Record<string, string>): Promise<BacklogDrainResult> {
  const database = await createDatabase(ctx.adminUrl, "s4b", scope);
  const { origins } = ctx.receiver;
  const jobIds = await insertJobs(database.sql, { count: events, secret: ctx.secret, urlOf: (i) => `${origins[i % origins.length]}/ok` });
  const topic = await createTopic(ctx.brokers, "s4b", scope);
  await produceEvents(topic, jobIds, { perRequest: 5_000, compression: COMPRESSION });
  await database.sql`checkpoint`;
  await ctx.receiver.reset();
  const dispatcher = await startDispatcher(
    dispatcherEnv({
      ...env,
      DATABASE_URL: database.url,
      KAFKA_BROKERS: ctx.brokers.join(","),
      KAFKA_TOPIC_WEBHOOKS: topic.topic,
      KAFKA_GROUP_ID: topic.groupId,
    }),
  );
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
  const deadline = performance.now() + drainDeadlineMs(events);
  let received = 0;
  let sent = 0;
  while (sent < events) {
    const exit = dispatcher.exitStatus();
    const progress = `${received} of ${events} events reached /ok, ${sent} sent`;
    if (exit !== null) throw new Error(`the dispatcher exited (${exit}) while draining: ${progress}\n${dispatcher.logTail().join("\n")}`);
    if (performance.now() > deadline) throw new Error(`not drained within ${drainDeadlineMs(events)} ms: ${progress}\n${dispatcher.logTail().join("\n")}`);
    await sleep(200, scope.signal);
    received = (await ctx.receiver.stats()).counts["/ok"]?.unique ?? 0;
    // Receipt comes before the completion write: the rows are counted only once all arrived.
    if (received >= events) sent = await sentCount(database.sql);
  }
  const drainMs = performance.now() - dispatcher.readyAt;
  const peakRssBytes = dispatcher.peakRssBytes();
  await dispatcher.stop();
  await checkDeliveredOnce(ctx, database.sql, events);
  return { events, peakRssBytes, drainMs: round(drainMs), eventsPerSecond: round(events / (drainMs / 1000)) };
}

async function sentCount(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent'`;
  return row?.n ?? 0;
}

/** One request per event at the receiver, one delivery row per event, each sent at its first attempt. */
async function checkDeliveredOnce(ctx: BenchContext, sql: postgres.Sql, events: number): Promise<void> {
  const stats = await ctx.receiver.stats();
  const ok = stats.counts["/ok"] ?? { requests: 0, unique: 0 };
  const [rows] = await sql<{ total: number; jobs: number; sent_first_time: number }[]>`
    select count(*)::int as total, count(distinct job_id)::int as jobs,
           count(*) filter (where status = 'sent' and attempts = 1)::int as sent_first_time
    from webhook_deliveries`;
  const problems = [
    ok.unique !== events && `${ok.unique} distinct jobs reached /ok`,
    ok.requests !== ok.unique && `${ok.requests - ok.unique} requests repeated a job`,
    stats.signatureFailures > 0 && `${stats.signatureFailures} signature failures`,
    rows?.total !== events && `${rows?.total} delivery rows`,
    rows?.jobs !== events && `${rows?.jobs} distinct jobs in the delivery rows`,
    rows?.sent_first_time !== events && `${rows?.sent_first_time} deliveries sent at their first attempt`,
  ].filter((problem): problem is string => typeof problem === "string");
  if (problems.length > 0) throw new Error(`not every one of ${events} events was delivered exactly once: ${problems.join("; ")}`);
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
