import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { createRetention } from "../../src/app/retention.ts";
import { at, newDeadLetter, newDelivery, T0 } from "../support/contract-subject.ts";
import { capturingLogger, recordingMetrics } from "../support/app-fixtures.ts";
import type { Metrics } from "../../src/ports/metrics.ts";
import { waitFor } from "../support/wait-for.ts";

const HOUR = 3_600_000;

async function setup(options: { retentionMs: number; outboxRetentionMs: number; metrics?: Metrics }) {
  const db = createMemoryDatabase();
  await db.deliveries.createDeliveries(Array.from({ length: 5 }, (_, i) => newDelivery({ rejection: "connection_refused", createdAt: at(i) })));
  await db.deliveries.createDeliveries([newDelivery({ createdAt: T0 })]);
  await db.deadLetters.recordDeadLetters([newDeadLetter({ createdAt: T0 })]);
  const logger = capturingLogger();
  const retention = createRetention({ transaction: db.transaction, now: () => at(2 * HOUR), logger, batchSize: 2, pauseMs: 1, intervalMs: 60_000, ...options });
  return { db, retention, logger };
}

describe("retention", () => {
  it("prunes a batch of each kind per round, and only what is past its period", async () => {
    const { retention, logger } = await setup({ retentionMs: HOUR, outboxRetentionMs: HOUR });
    const rounds = [await retention.pruneOnce(), await retention.pruneOnce(), await retention.pruneOnce(), await retention.pruneOnce()];
    expect(rounds.map((r) => r.deliveries)).toEqual([2, 2, 1, 0]);
    expect(rounds.map((r) => r.deadLetters)).toEqual([1, 0, 0, 0]);
    expect(logger.lines.filter((line) => line.includes("old rows pruned"))).toHaveLength(3);
  });

  it("counts the rows each batch deleted, per table, and nothing for a batch that deleted none", async () => {
    const metrics = recordingMetrics();
    const { retention } = await setup({ retentionMs: HOUR, outboxRetentionMs: HOUR, metrics });
    for (let round = 0; round < 4; round++) await retention.pruneOnce();
    expect(metrics.reports).toEqual([
      ["rowsPruned", "deliveries", 2],
      ["rowsPruned", "dead_letters", 1],
      ["rowsPruned", "deliveries", 2],
      ["rowsPruned", "deliveries", 1],
    ]);
  });

  it("keeps everything when the period is 0", async () => {
    const { retention } = await setup({ retentionMs: 0, outboxRetentionMs: 0 });
    expect(await retention.pruneOnce()).toEqual({ deliveries: 0, outbox: 0, deadLetters: 0 });
  });

  it("in the background, goes on batch after batch while there is more, leaving pending deliveries", async () => {
    const { db, retention } = await setup({ retentionMs: HOUR, outboxRetentionMs: HOUR });
    const stop = new AbortController();
    const running = retention.run(stop.signal);
    const left = await waitFor("the old deliveries pruned", async () => {
      const rows = await db.deliveries.listDeliveries({ filter: {}, limit: 10 });
      return rows.length === 1 ? rows : null;
    }, { timeoutMs: 5_000 });
    stop.abort();
    await running;
    expect(left[0]?.status).toBe("pending");
  });
});
