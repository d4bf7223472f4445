import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { createReplayRunner } from "../../src/app/replay-runner.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { at, newDelivery, T0 } from "../support/contract-subject.ts";
import { capturingLogger } from "../support/app-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

const FILTER = { status: "failed", createdAfter: T0, createdBefore: at(1_000) } as const;

async function setup(failed: number, options: { maxDue?: number } = {}) {
  const db = createMemoryDatabase();
  await db.deliveries.createDeliveries(Array.from({ length: failed }, () => newDelivery({ rejection: "connection_refused" })));
  let wakes = 0;
  const logger = capturingLogger();
  const runner = createReplayRunner({
    transaction: db.transaction,
    now: () => at(60_000),
    logger,
    wakeScheduler: () => void wakes++,
    batchSize: 2,
    maxDue: options.maxDue ?? 100,
    pollIntervalMs: 20,
    waitIntervalMs: 5,
  });
  const start = async () => {
    const match = await db.replays.matchReplay(FILTER, 1_000);
    return db.replays.createReplay({ id: randomUUID(), filter: FILTER, match, now: at(60_000) });
  };
  return { db, runner, start, logger, wakes: () => wakes };
}

describe("the replay runner", () => {
  it("re-drives a replay batch by batch, waking the scheduler after each, until it completes", async () => {
    const { db, runner, start, wakes, logger } = await setup(5);
    const replay = await start();
    const turns = [await runner.runOnce(), await runner.runOnce(), await runner.runOnce(), await runner.runOnce()];
    expect(turns.map((t) => t?.redriven ?? null)).toEqual([2, 2, 1, null]);
    expect(wakes()).toBe(3);
    expect((await db.replays.getReplay(replay.id))?.status).toBe("completed");
    expect(logger.lines.some((line) => line.includes("replay completed"))).toBe(true);
  });

  it("in the background, a replay waits while too many deliveries are due and goes on once they are sent", async () => {
    const { db, runner, start } = await setup(4, { maxDue: 3 });
    const fresh = [newDelivery({ createdAt: at(50_000) }), newDelivery({ createdAt: at(50_000) }), newDelivery({ createdAt: at(50_000) })];
    await db.deliveries.createDeliveries(fresh);
    const replay = await start();
    expect(await runner.runOnce()).toMatchObject({ waited: true, redriven: 0 });
    const stop = new AbortController();
    const running = runner.run(stop.signal);
    // Acting as the scheduler: whatever is due is claimed (no longer due), so the replay may go on.
    await waitFor("the replay completed", async () => {
      await db.deliveries.claimDueDeliveries({ now: at(60_000), limit: 100, leaseMs: 60_000 });
      return (await db.replays.getReplay(replay.id))?.status === "completed";
    }, { timeoutMs: 5_000 });
    stop.abort();
    await running;
    expect((await db.replays.getReplay(replay.id))?.redriven).toBe(4);
  });

  it("a replay interrupted between batches goes on where it stopped in another runner, re-driving nothing twice", async () => {
    const { db, runner, start } = await setup(5);
    const replay = await start();
    await runner.runOnce();
    const other = createReplayRunner({ transaction: db.transaction, now: () => at(60_000), logger: noopLogger, wakeScheduler: () => {}, batchSize: 2, maxDue: 100, pollIntervalMs: 20, waitIntervalMs: 5 });
    while ((await other.runOnce()) !== null);
    expect(await db.replays.getReplay(replay.id)).toMatchObject({ status: "completed", redriven: 5 });
    const deliveries = await db.deliveries.listDeliveries({ filter: {}, limit: 10 });
    for (const d of deliveries) expect((await db.deliveries.getDelivery(d.id))?.actions).toHaveLength(1);
  });
});
