/**
 * S4, memory: a dispatcher whose database holds 1,000,000 pending deliveries due hours from now,
 * against one on an empty database. Both are left alone for 40 s after ready; their resident
 * memory over the last 10 s (median of VmRSS samples) and at most (VmHWM) is read from /proc. Nothing is due, so any growth is
 * what the dispatcher holds or reads because of rows it has no business with yet.
 */
import { createDatabase, insertPendingDeliveries } from "../database.ts";
import { dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { sleep, type Scope } from "../scope.ts";
import { median } from "../stats.ts";

/**
 * V8's memory reducer gives back start-up memory in steps some seconds after the process goes
 * quiet: probed second by second, both processes stayed at ~142 MiB, stepped to ~131 MiB and
 * then to ~91 MiB, the last step at 15 to 23 s. Read at 20 s, the comparison was mostly which
 * process had taken its step yet (a 37 MiB "growth" once); after 30 s both are flat.
 */
const SETTLE_MS = 40_000;
const SAMPLED_MS = 10_000;
export const PENDING_ROWS = Number(process.env.BENCH_PENDING_ROWS ?? 1_000_000);

export interface MemoryResult {
  readonly pendingRows: number;
  readonly idleRssBytes: number;
  readonly idlePeakRssBytes: number;
  readonly loadedRssBytes: number;
  readonly loadedPeakRssBytes: number;
  readonly growthBytes: number;
  /** Dispatcher CPU while it waited with the pending rows, µs per second (polling cost). */
  readonly loadedCpuUsPerSecond: number;
}

export async function runMemory(ctx: BenchContext): Promise<MemoryResult[]> {
  return repeat(ctx, "S4 memory", 600_000, async (scope, kind) => {
    const rows = kind === "warm-up" ? Math.min(PENDING_ROWS, 100_000) : PENDING_ROWS;
    const idle = await settledDispatcher(ctx, scope, 0);
    const loaded = await settledDispatcher(ctx, scope, rows);
    return {
      pendingRows: rows,
      idleRssBytes: idle.rss,
      idlePeakRssBytes: idle.peak,
      loadedRssBytes: loaded.rss,
      loadedPeakRssBytes: loaded.peak,
      growthBytes: loaded.rss - idle.rss,
      loadedCpuUsPerSecond: Math.round(loaded.cpuMicros / (SETTLE_MS / 1000)),
    };
  }, (r) => `idle ${mib(r.idleRssBytes)} MiB, with ${r.pendingRows} pending ${mib(r.loadedRssBytes)} MiB (growth ${mib(r.growthBytes)} MiB)`);
}

async function settledDispatcher(ctx: BenchContext, scope: Scope, pendingRows: number) {
  const database = await createDatabase(ctx.adminUrl, "s4", scope);
  if (pendingRows > 0) {
    await insertPendingDeliveries(database.sql, { count: pendingRows, dueInHours: 3, url: `${ctx.receiver.url}/ok` });
    // As autovacuum would leave a table this size soon after: statistics present, hint bits set.
    await database.sql`vacuum analyze webhook_deliveries`;
  }
  await database.sql`checkpoint`;
  const dispatcher = await startDispatcher(dispatcherEnv({ DATABASE_URL: database.url }));
  scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
  const cpuAtReady = dispatcher.cpuMicros();
  const samples: number[] = [];
  for (let second = 1; second <= SETTLE_MS / 1000; second++) {
    await sleep(1000, scope.signal);
    if (second > (SETTLE_MS - SAMPLED_MS) / 1000) samples.push(dispatcher.rssBytes());
  }
  const result = { rss: median(samples), peak: dispatcher.peakRssBytes(), cpuMicros: dispatcher.cpuMicros() - cpuAtReady };
  await dispatcher.stop();
  return result;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
