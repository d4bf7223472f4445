/**
 * S3, isolation: 10% of the jobs point at a receiver path that never answers (cut by
 * WEBHOOK_TIMEOUT=5s), 10% at one that answers 500 (next try an hour away, so retries do not
 * dominate), 80% at /ok; all from Kafka. Measured: healthy events per second until every
 * healthy one is sent, against S1(b).
 *
 * - different origin: /hang and /fail are on the receiver's second port — another customer —
 *   and the dispatcher runs with the default per-destination limit (16), the setting that is
 *   meant to keep one customer's broken endpoint from taking every slot.
 * - same origin: everything on one port (limit 64 = the concurrency, as in S1). One customer
 *   whose own endpoint half hangs: no limit can help, so this shows the cost, over a fixed window.
 */
import { createDatabase, insertJobs } from "../database.ts";
import { dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { describeDrain, drainDeadlineMs, measureDrain, repeat, type BenchContext, type DrainResult } from "../drain.ts";
import { createTopic, produceEvents } from "../kafka-topics.ts";
import { sleep, type Scope } from "../scope.ts";
import { round } from "../stats.ts";
import { warmUpEvents } from "./s1-throughput.ts";

const FAULT_ENV = { WEBHOOK_TIMEOUT: "5s", WEBHOOK_RETRY_BASE_DELAY: "1h", WEBHOOK_RETRY_MAX_DELAY: "24h" };
/** How long the same-origin variant is watched: it cannot drain in any reasonable time. */
const SAME_ORIGIN_WINDOW_MS = 20_000;

function pathOf(index: number): "/hang" | "/fail" | "/ok" {
  return index % 10 === 0 ? "/hang" : index % 10 === 1 ? "/fail" : "/ok";
}

function healthyCount(events: number): number {
  let healthy = 0;
  for (let i = 0; i < events; i++) if (pathOf(i) === "/ok") healthy++;
  return healthy;
}

async function prepare(ctx: BenchContext, scope: Scope, events: number, faultOrigin: string) {
  const database = await createDatabase(ctx.adminUrl, "s3", scope);
  const jobIds = await insertJobs(database.sql, {
    count: events,
    secret: ctx.secret,
    urlOf: (i) => (pathOf(i) === "/ok" ? `${ctx.receiver.url}/ok` : `${faultOrigin}${pathOf(i)}`),
  });
  const topic = await createTopic(ctx.brokers, "s3", scope);
  await produceEvents(topic, jobIds);
  await database.sql`checkpoint`;
  const env = {
    ...FAULT_ENV,
    DATABASE_URL: database.url,
    KAFKA_BROKERS: ctx.brokers.join(","),
    KAFKA_TOPIC_WEBHOOKS: topic.topic,
    KAFKA_GROUP_ID: topic.groupId,
  };
  return { database, env };
}

export async function runIsolationOtherOrigin(ctx: BenchContext): Promise<DrainResult[]> {
  return repeat(ctx, "S3 isolation (different origin)", drainDeadlineMs(ctx.events) * 2, async (scope, kind) => {
    const events = kind === "warm-up" ? warmUpEvents(ctx.events) : ctx.events;
    const { database, env } = await prepare(ctx, scope, events, ctx.receiver.otherUrl);
    return measureDrain(ctx, scope, {
      env: { ...env, DISPATCH_CONCURRENCY: "64", WEBHOOK_MAX_PER_DESTINATION: "16" },
      sql: database.sql,
      events: healthyCount(events),
    });
  }, describeDrain);
}

export interface WindowResult {
  readonly windowMs: number;
  readonly healthySent: number;
  readonly healthyEventsPerSecond: number;
  readonly hangRequests: number;
  readonly failRequests: number;
  readonly cpuUsPerDelivery: number;
  readonly peakRssBytes: number;
}

export async function runIsolationSameOrigin(ctx: BenchContext): Promise<WindowResult[]> {
  return repeat(ctx, "S3 isolation (same origin)", 120_000 + ctx.events * 2, async (scope) => {
    // Only a window is watched, so a smaller backlog does: it just has to outlast the window.
    const { env } = await prepare(ctx, scope, Math.min(ctx.events, 20_000), ctx.receiver.url);
    await ctx.receiver.reset();
    const dispatcher = await startDispatcher(dispatcherEnv({ ...env, DISPATCH_CONCURRENCY: "64", WEBHOOK_MAX_PER_DESTINATION: "64" }));
    scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
    const cpuAtReady = dispatcher.cpuMicros();
    await sleep(SAME_ORIGIN_WINDOW_MS, scope.signal);
    const stats = await ctx.receiver.stats();
    const healthySent = stats.counts["/ok"]?.unique ?? 0;
    const result: WindowResult = {
      windowMs: SAME_ORIGIN_WINDOW_MS,
      healthySent,
      healthyEventsPerSecond: round(healthySent / (SAME_ORIGIN_WINDOW_MS / 1000)),
      hangRequests: stats.counts["/hang"]?.requests ?? 0,
      failRequests: stats.counts["/fail"]?.requests ?? 0,
      cpuUsPerDelivery: round((dispatcher.cpuMicros() - cpuAtReady) / Math.max(healthySent, 1), 1),
      peakRssBytes: dispatcher.peakRssBytes(),
    };
    await dispatcher.stop();
    return result;
  }, (r) => `${r.healthyEventsPerSecond} healthy events/s over ${r.windowMs / 1000} s (${r.hangRequests} hung, ${r.failRequests} answered 500)`);
}
