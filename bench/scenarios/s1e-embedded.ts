/**
 * S1(e), throughput on the embedded default: S1(a) — an outbox backlog drained to the receiver —
 * with no DATABASE_URL, so the dispatcher runs PGlite in its own process under DATA_DIR: what
 * `npm start` gives without a database. Jobs and outbox rows are written into the data
 * directory first, through the same embedded server started in this process and stopped again.
 * While the dispatcher runs nothing else can reach its database (the embedded server serves one
 * connection), so the drain is timed from ready to the last receipt, and its CPU per delivery
 * includes PGlite's.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../../src/adapters/postgres/embedded.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { insertJobs, insertOutbox } from "../database.ts";
import { dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { repeat, type BenchContext } from "../drain.ts";
import type { Scope } from "../scope.ts";
import { round } from "../stats.ts";
import { SINGLE_RECEIVER_ENV, warmUpEvents } from "./s1-throughput.ts";

export interface EmbeddedDrainResult {
  readonly events: number;
  /** From the dispatcher ready to the last receipt, ms. */
  readonly drainMs: number;
  readonly eventsPerSecond: number;
  /** From the first to the last receipt. */
  readonly steadyEventsPerSecond: number;
  /** The dispatcher process's CPU, PGlite included, per delivery, µs. */
  readonly cpuUsPerDelivery: number;
  readonly peakRssBytes: number;
}

/** Events per embedded drain (BENCH_EMBEDDED_EVENTS): fewer than S1(a)'s, as one connection serves everything. */
const EMBEDDED_EVENTS = Number(process.env.BENCH_EMBEDDED_EVENTS ?? 20_000);

export async function runEmbeddedDrain(ctx: BenchContext): Promise<EmbeddedDrainResult[]> {
  return repeat(ctx, "S1(e) embedded", 120_000 + EMBEDDED_EVENTS * 20, (scope, kind) =>
    drainEmbedded(ctx, scope, kind === "warm-up" ? warmUpEvents(EMBEDDED_EVENTS) : EMBEDDED_EVENTS), (r) =>
    `${r.eventsPerSecond} events/s (${(r.drainMs / 1000).toFixed(1)} s), ${r.cpuUsPerDelivery} µs CPU/delivery, peak RSS ${Math.round(r.peakRssBytes / 2 ** 20)} MiB`,
  );
}

async function drainEmbedded(ctx: BenchContext, scope: Scope, events: number): Promise<EmbeddedDrainResult> {
  const dataDir = await mkdtemp(join(tmpdir(), "bench-s1e-"));
  scope.defer(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  await seed(ctx, dataDir, events);
  await ctx.receiver.reset();
  const dispatcher = await startDispatcher(dispatcherEnv({ ...SINGLE_RECEIVER_ENV, DATA_DIR: dataDir }));
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
  const cpuAtReady = dispatcher.cpuMicros();
  try {
    await ctx.receiver.waitFor("/ok", events, 120_000 + events * 20, scope.signal);
  } catch (error) {
    const status = dispatcher.exitStatus();
    throw new Error(`${(error as Error).message}; ${status === null ? "the dispatcher still runs" : `the dispatcher exited: ${status}`}\n${dispatcher.logTail().join("\n")}`);
  }
  const cpuMicros = dispatcher.cpuMicros() - cpuAtReady;
  const stats = await ctx.receiver.stats();
  const peakRssBytes = dispatcher.peakRssBytes();
  await dispatcher.stop();
  // The receiver's clock is epoch ms from performance.timeOrigin, like this process's.
  const drainMs = stats.lastOkAt - (performance.timeOrigin + dispatcher.readyAt);
  return {
    events,
    drainMs: round(drainMs),
    eventsPerSecond: round(events / (drainMs / 1000)),
    steadyEventsPerSecond: round(events / (Math.max(stats.lastOkAt - stats.firstOkAt, 1) / 1000)),
    cpuUsPerDelivery: round(cpuMicros / events, 1),
    peakRssBytes,
  };
}

/** Migrations, jobs and their outbox rows, written into `dataDir` by an embedded server of this process. */
async function seed(ctx: BenchContext, dataDir: string, events: number): Promise<void> {
  const embedded = await startEmbeddedPostgres({ dataDir });
  try {
    const sql = postgres(embedded.url, { max: 1, prepare: false, onnotice: () => {} });
    try {
      await applyMigrations(sql);
      const jobIds = await insertJobs(sql, { count: events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
      await insertOutbox(sql, jobIds);
      await sql`checkpoint`;
    } finally {
      await sql.end();
    }
  } finally {
    await embedded.stop();
  }
}
