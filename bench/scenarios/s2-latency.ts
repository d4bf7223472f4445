/**
 * S2, latency: events produced to Kafka open-loop — on a fixed schedule, whatever the dispatcher
 * does — at 200/s, 1,000/s and half the S1(b) rate, ~10 s each, one after the other on one
 * dispatcher. Latency is receipt time at the receiver minus the event's scheduled time. The
 * producer never waits for the dispatcher, but on 2 shared cores it can itself run late; that
 * lateness is part of the latency, and reported beside it as "producer lag" (send call minus
 * schedule). An event that has not arrived 30 s after its rate's last send fails the run.
 */
import { randomUUID } from "node:crypto";
import { createDatabase, insertJobs } from "../database.ts";
import { benchLogLevel, dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { createTopic, eventMessage, kafkaClient, produceEvents, type BenchTopic } from "../kafka-topics.ts";
import { sleep, type Scope } from "../scope.ts";
import { percentile, receiptLatencies, round } from "../stats.ts";
import { SINGLE_RECEIVER_ENV } from "./s1-throughput.ts";

// Events due within one tick leave together; a shorter tick costs the benchmark's own CPU.
const TICK_MS = 2;
/** Events sent before measuring, so the consumer group has joined and code paths are warm. */
const PRIMING_EVENTS = 200;
/** How long after a rate's last send its events may still arrive before the run fails, ms. */
const ARRIVAL_GRACE_MS = 30_000;

export interface RateResult {
  readonly label: string;
  readonly ratePerSecond: number;
  readonly produced: number;
  readonly received: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** How late the benchmark itself sent (p99 of send call minus schedule), ms: included in the latencies. */
  readonly producerLagP99Ms: number;
}

export interface LatencyResult {
  readonly rates: RateResult[];
  /** The Kafka hop alone at 1,000/s: produced as above, consumed by kafkajs in this process. */
  readonly kafkaAlone: RateResult;
  readonly cpuUsPerDelivery: number;
  readonly peakRssBytes: number;
}

/**
 * `logLevel` sets the dispatcher's LOG_LEVEL for this scenario alone (s2info: info); unset, the
 * run's. The rates stay the same at either level, so the CPU per delivery over all rates compares.
 */
export async function runLatency(ctx: BenchContext, s1bEventsPerSecond: number | null, logLevel?: string): Promise<LatencyResult[]> {
  const rates: Array<{ label: string; ratePerSecond: number }> = [
    { label: "200/s", ratePerSecond: 200 },
    { label: "1000/s", ratePerSecond: 1000 },
  ];
  if (s1bEventsPerSecond !== null) rates.push({ label: "50% of S1(b)", ratePerSecond: Math.round(s1bEventsPerSecond / 2) });
  const label = logLevel === undefined ? "S2 latency" : `S2 latency, LOG_LEVEL=${logLevel}`;
  const level = logLevel ?? benchLogLevel();
  return repeat(ctx, label, 300_000, (scope, kind) => measureRates(ctx, scope, rates, kind === "warm-up" ? 3_000 : 10_000, level), (r) =>
    r.rates.map((rate) => `${rate.label} (${rate.ratePerSecond}/s): p50 ${rate.p50Ms} ms, p99 ${rate.p99Ms} ms, max ${rate.maxMs} ms`).join("; "),
  );
}

async function measureRates(
  ctx: BenchContext,
  scope: Scope,
  rates: ReadonlyArray<{ label: string; ratePerSecond: number }>,
  durationMs: number,
  logLevel: string,
): Promise<LatencyResult> {
  const kafkaAlone = await measureKafkaAlone(ctx, scope, durationMs);
  const total = PRIMING_EVENTS + rates.reduce((sum, r) => sum + Math.ceil((r.ratePerSecond * durationMs) / 1000), 0);
  const database = await createDatabase(ctx.adminUrl, "s2", scope);
  const jobIds = await insertJobs(database.sql, { count: total, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
  const topic = await createTopic(ctx.brokers, "s2", scope);
  await database.sql`checkpoint`;
  await ctx.receiver.reset();
  const dispatcher = await startDispatcher(
    dispatcherEnv({
      ...SINGLE_RECEIVER_ENV,
      DATABASE_URL: database.url,
      KAFKA_BROKERS: ctx.brokers.join(","),
      KAFKA_TOPIC_WEBHOOKS: topic.topic,
      KAFKA_GROUP_ID: topic.groupId,
      LOG_LEVEL: logLevel,
    }),
  );
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());

  await produceEvents(topic, jobIds.slice(0, PRIMING_EVENTS));
  await ctx.receiver.waitFor("/ok", PRIMING_EVENTS, 60_000, scope.signal);
  const cpuBefore = dispatcher.cpuMicros();
  let next = PRIMING_EVENTS;
  const results: RateResult[] = [];
  for (const { label, ratePerSecond } of rates) {
    const count = Math.ceil((ratePerSecond * durationMs) / 1000);
    const ids = jobIds.slice(next, next + count);
    next += count;
    const { scheduledAt, lags } = await produceOpenLoop(topic, ids, ratePerSecond, scope.signal);
    // This rate's events all arrive before the next rate starts, or the run fails (summarizeRate says which).
    await ctx.receiver.waitFor("/ok", next, ARRIVAL_GRACE_MS, scope.signal).catch(() => scope.signal.throwIfAborted());
    const receipts = await ctx.receiver.receipts("/ok");
    results.push(summarizeRate(`S2 ${label}, ${ARRIVAL_GRACE_MS / 1000} s after the last send`, label, ratePerSecond, ids, scheduledAt, lags, receipts));
  }
  const delivered = next - PRIMING_EVENTS;
  const result = { rates: results, kafkaAlone, cpuUsPerDelivery: round((dispatcher.cpuMicros() - cpuBefore) / delivered, 1), peakRssBytes: dispatcher.peakRssBytes() };
  await dispatcher.stop();
  return result;
}

/** One rate's latencies from each event's scheduled time; `what` names the run in the error an event that never arrived raises. */
export function summarizeRate(
  what: string,
  label: string,
  ratePerSecond: number,
  ids: readonly string[],
  scheduledAt: readonly number[],
  lags: readonly number[],
  receipts: ReadonlyMap<string, number>,
): RateResult {
  const latencies = receiptLatencies(what, ids, scheduledAt, receipts);
  return {
    label,
    ratePerSecond,
    produced: ids.length,
    received: latencies.length,
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
    maxMs: round(Math.max(...latencies), 2),
    producerLagP99Ms: round(percentile(lags, 0.99), 2),
  };
}

/**
 * The floor under S2: the same open-loop producer at 1,000/s into a 4-partition topic, read by
 * a kafkajs consumer with the dispatcher's fetch settings that only notes when each key arrived.
 * No database, no HTTP: what is left is Kafka, kafkajs and this machine's scheduling.
 */
async function measureKafkaAlone(ctx: BenchContext, scope: Scope, durationMs: number): Promise<RateResult> {
  const topic = await createTopic(ctx.brokers, "s2-kafka", scope);
  const consumer = kafkaClient(ctx.brokers).consumer({ groupId: topic.groupId, maxWaitTimeInMs: 1_000 });
  await consumer.connect();
  scope.defer("kafka-alone consumer", () => consumer.disconnect());
  const receipts = new Map<string, number>();
  await consumer.subscribe({ topics: [topic.topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const at = performance.timeOrigin + performance.now();
      for (const message of batch.messages) receipts.set(message.key?.toString() ?? "", at);
    },
  });
  const priming = Array.from({ length: 20 }, () => randomUUID());
  await produceEvents(topic, priming);
  while (!priming.every((id) => receipts.has(id))) await sleep(20, scope.signal);
  const ratePerSecond = 1000;
  const ids = Array.from({ length: Math.ceil((ratePerSecond * durationMs) / 1000) }, () => randomUUID());
  const { scheduledAt, lags } = await produceOpenLoop(topic, ids, ratePerSecond, scope.signal);
  const deadline = Date.now() + ARRIVAL_GRACE_MS;
  while (!ids.every((id) => receipts.has(id)) && Date.now() < deadline) await sleep(50, scope.signal);
  return summarizeRate(`S2 Kafka alone, ${ARRIVAL_GRACE_MS / 1000} s after the last send`, "Kafka alone, 1000/s", ratePerSecond, ids, scheduledAt, lags, receipts);
}

/**
 * Sends event k at `start + k / rate` (epoch ms): every tick sends what is due as one request,
 * without waiting for earlier requests' acknowledgements. Returns each event's scheduled time
 * (epoch ms), and per request how late it was sent (from the oldest event's schedule).
 */
async function produceOpenLoop(
  topic: BenchTopic,
  ids: readonly string[],
  ratePerSecond: number,
  signal: AbortSignal,
): Promise<{ scheduledAt: number[]; lags: number[] }> {
  const start = performance.timeOrigin + performance.now() + 20;
  const scheduledAt = ids.map((_, k) => start + (k * 1000) / ratePerSecond);
  const inFlight: Promise<unknown>[] = [];
  const lags: number[] = [];
  let sent = 0;
  while (sent < ids.length) {
    const now = performance.timeOrigin + performance.now();
    let due = sent;
    while (due < ids.length && scheduledAt[due]! <= now) due++;
    if (due > sent) {
      lags.push(now - scheduledAt[sent]!);
      inFlight.push(topic.producer.send({ topic: topic.topic, acks: -1, messages: ids.slice(sent, due).map(eventMessage) }));
      sent = due;
    }
    await sleep(TICK_MS, signal);
  }
  await Promise.all(inFlight);
  return { scheduledAt, lags };
}
