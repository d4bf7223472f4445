/**
 * S1, throughput: a backlog of events drained to `sent` by one dispatcher process, (a) from the
 * outbox — jobs and outbox rows inserted before the process starts — and (b) from Kafka — a
 * 4-partition topic filled before the process starts. Timed from ready to the last `sent`.
 */
import { createDatabase, insertJobs, insertOutbox } from "../database.ts";
import { benchLogLevel } from "../dispatcher-process.ts";
import { describeDrain, drainDeadlineMs, measureDrain, repeat, type BenchContext, type DrainResult } from "../drain.ts";
import { createTopic, produceEvents } from "../kafka-topics.ts";
import type { Scope } from "../scope.ts";

/**
 * One receiver origin takes all the traffic here, so the per-destination limit is raised to the
 * process concurrency (64) — otherwise the default 16 would be the bottleneck being measured.
 * BENCH_S1_MAX_PER_DESTINATION overrides it, to see what the limit itself costs (S3 runs at 16).
 */
export const SINGLE_RECEIVER_ENV = {
  DISPATCH_CONCURRENCY: "64",
  WEBHOOK_MAX_PER_DESTINATION: process.env.BENCH_S1_MAX_PER_DESTINATION ?? "64",
};

export function warmUpEvents(events: number): number {
  return Math.min(events, Math.max(2_000, Math.round(events / 5)));
}

/** `logLevel` sets the dispatcher's LOG_LEVEL for this scenario alone (s1ainfo: info); unset, the run's. */
export async function runOutboxDrain(ctx: BenchContext, logLevel?: string): Promise<DrainResult[]> {
  const label = logLevel === undefined ? "S1(a) outbox" : `S1(a) outbox, LOG_LEVEL=${logLevel}`;
  const level = logLevel ?? benchLogLevel();
  return repeat(ctx, label, drainDeadlineMs(ctx.events) * 2, (scope, kind) =>
    drainFromOutbox(ctx, scope, kind === "warm-up" ? warmUpEvents(ctx.events) : ctx.events, level), describeDrain);
}

/**
 * `perDestination` overrides the limit: S1(b) at the default 16 is the control for S3, which
 * must run at 16 (the isolation setting), so S3's ratio can be split into the limit's own cost
 * and the faulty receivers' cost.
 */
export async function runKafkaDrain(ctx: BenchContext, perDestination?: number): Promise<DrainResult[]> {
  const label = perDestination === undefined ? "S1(b) kafka" : `S1(b) kafka, limit ${perDestination}`;
  const env = perDestination === undefined ? SINGLE_RECEIVER_ENV : { ...SINGLE_RECEIVER_ENV, WEBHOOK_MAX_PER_DESTINATION: String(perDestination) };
  return repeat(ctx, label, drainDeadlineMs(ctx.events) * 2, (scope, kind) =>
    drainFromKafka(ctx, scope, kind === "warm-up" ? warmUpEvents(ctx.events) : ctx.events, env), describeDrain);
}

async function drainFromOutbox(ctx: BenchContext, scope: Scope, events: number, logLevel: string): Promise<DrainResult> {
  const database = await createDatabase(ctx.adminUrl, "s1a", scope);
  const jobIds = await insertJobs(database.sql, { count: events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
  await insertOutbox(database.sql, jobIds);
  // Checkpoint now so the dispatcher's run is not charged for flushing the set-up's writes.
  await database.sql`checkpoint`;
  return measureDrain(ctx, scope, { env: { ...SINGLE_RECEIVER_ENV, DATABASE_URL: database.url, LOG_LEVEL: logLevel }, sql: database.sql, events });
}

async function drainFromKafka(ctx: BenchContext, scope: Scope, events: number, env: Record<string, string>): Promise<DrainResult> {
  const database = await createDatabase(ctx.adminUrl, "s1b", scope);
  const jobIds = await insertJobs(database.sql, { count: events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
  const topic = await createTopic(ctx.brokers, "s1b", scope);
  await produceEvents(topic, jobIds);
  await database.sql`checkpoint`;
  return measureDrain(ctx, scope, {
    env: {
      ...env,
      DATABASE_URL: database.url,
      KAFKA_BROKERS: ctx.brokers.join(","),
      KAFKA_TOPIC_WEBHOOKS: topic.topic,
      KAFKA_GROUP_ID: topic.groupId,
    },
    sql: database.sql,
    events,
  });
}
