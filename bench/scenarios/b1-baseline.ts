/**
 * B1, the baseline: graphile-worker running the same signed POST as a task against the same
 * receiver and database (bench/scenarios/b1-graphile-worker.ts). This file prepares each run —
 * a fresh database holding the finished jobs — and calls it.
 */
import { createDatabase, insertJobs } from "../database.ts";
import { drainDeadlineMs, repeat, type BenchContext } from "../drain.ts";
import type { GraphileSettings } from "../graphile/settings.ts";
import { runGraphileBaseline } from "./b1-graphile-worker.ts";
import { warmUpEvents } from "./s1-throughput.ts";

export interface BaselineResult {
  readonly drainMs: number;
  readonly eventsPerSecond: number;
  readonly cpuUsPerDelivery: number;
  readonly postgresCpuUsPerDelivery: number;
  readonly peakRssBytes: number;
  /** Checked here at the receiver: every job arrived, every signature verified. */
  readonly jobsReceived: number;
  readonly signatureFailures: number;
}

/** The baseline's runs with one of graphile-worker's settings. */
export async function runBaseline(ctx: BenchContext, settings: GraphileSettings): Promise<BaselineResult[]> {
  // graphile-worker is expected to be several times slower than the dispatcher: a wider bound.
  return repeat(ctx, `B1 graphile-worker (${settings})`, drainDeadlineMs(ctx.events) * 4, async (scope, kind) => {
    const events = kind === "warm-up" ? warmUpEvents(ctx.events) : ctx.events;
    const database = await createDatabase(ctx.adminUrl, `b1_${settings}`, scope);
    await insertJobs(database.sql, { count: events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
    await database.sql`checkpoint`;
    await ctx.receiver.reset();
    const result = await runGraphileBaseline({ databaseUrl: database.url, receiverUrl: ctx.receiver.url, secret: ctx.secret, events, settings });
    const stats = await ctx.receiver.stats();
    const jobsReceived = stats.counts["/ok"]?.unique ?? 0;
    if (jobsReceived < events) throw new Error(`B1 (${settings}) returned, but only ${jobsReceived} of ${events} jobs reached the receiver`);
    return {
      drainMs: result.drainMs,
      eventsPerSecond: result.eventsPerSecond,
      cpuUsPerDelivery: result.cpuUsPerDelivery,
      postgresCpuUsPerDelivery: result.postgresCpuUsPerDelivery,
      peakRssBytes: result.peakRssBytes,
      jobsReceived,
      signatureFailures: stats.signatureFailures,
    };
  }, (r) => `${Math.round(r.eventsPerSecond)} events/s (${(r.drainMs / 1000).toFixed(1)} s), ${r.cpuUsPerDelivery} µs CPU/delivery`);
}
