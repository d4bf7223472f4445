import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { uuidV7Floor } from "../../src/adapters/uuid-v7.ts";
import type { NewDelivery } from "../../src/ports/delivery-store.ts";
import type { ReplayFilter } from "../../src/ports/replays.ts";
import { at, type ContractContext, newDeadLetter, newDelivery, T0 } from "../support/contract-subject.ts";

/** The replay store and dead-letter reprocessing marks, on every Database implementation. */
export function describeReplaysContract(context: ContractContext): void {
  const NOW = at(60_000);
  const window: ReplayFilter = { status: "failed", createdAfter: T0, createdBefore: at(1_000) };
  /** `count` failed deliveries created at T0, ids in ascending order. */
  const failedDeliveries = async (count: number, overrides: Partial<NewDelivery> = {}) => {
    const rows = Array.from({ length: count }, () => newDelivery({ rejection: "connection_refused", ...overrides }));
    await context.db.deliveries.createDeliveries(rows);
    return rows.map((row) => row.id).sort();
  };
  const advance = (batchSize: number, maxDue = 1_000) =>
    context.db.transaction((tx) => tx.replays.advanceReplay({ now: NOW, batchSize, maxDue }));
  const startReplay = async (filter: ReplayFilter = window) => {
    const match = await context.db.replays.matchReplay(filter, 1_000);
    return context.db.replays.createReplay({ id: randomUUID(), filter, match, now: NOW });
  };

  describe("replays", () => {
    it("matching counts the deliveries of the status in the window, and stops counting one past the maximum", async () => {
      await failedDeliveries(5);
      await failedDeliveries(2, { createdAt: at(5_000) });
      await context.db.deliveries.createDeliveries([newDelivery()]);
      expect((await context.db.replays.matchReplay(window, 100)).count).toBe(5);
      expect((await context.db.replays.matchReplay(window, 3)).count).toBe(4);
      expect(await context.db.replays.matchReplay({ ...window, createdAfter: at(2_000), createdBefore: at(3_000) }, 100)).toEqual({ count: 0, upperId: null });
    });

    it("a replay re-drives its deliveries in batches, oldest id first, each once with a fresh budget and a replay action, then completes", async () => {
      const ids = await failedDeliveries(5);
      const replay = await startReplay();
      expect(replay).toMatchObject({ status: "running", matched: 5, redriven: 0, skipped: 0, finishedAt: null });
      const turns = [await advance(2), await advance(2), await advance(2)];
      expect(turns.map((t) => [t?.redriven, t?.done])).toEqual([[2, false], [2, false], [1, true]]);
      expect(await advance(2)).toBeNull();
      expect(await context.db.replays.getReplay(replay.id)).toMatchObject({ status: "completed", redriven: 5, skipped: 0, finishedAt: NOW });
      for (const id of ids) {
        const found = await context.db.deliveries.getDelivery(id);
        expect(found?.delivery).toMatchObject({ status: "pending", nextAttemptAt: NOW, attemptBudgetStart: 0 });
        expect(found?.actions).toEqual([{ deliveryId: id, action: "replay", result: "redriven", createdAt: NOW, replayId: replay.id }]);
      }
    });

    it("deliveries created after the replay, or outside its filter, are never re-driven by it", async () => {
      // Ids are time-ordered in the dispatcher (UUIDv7): a delivery created later has a larger one.
      const idOf = (n: number) => `${uuidV7Floor(T0.getTime()).slice(0, 14)}7000-8000-00000000000${n}`;
      await failedDeliveries(1, { id: idOf(1) });
      await failedDeliveries(1, { id: idOf(2), event: "job.failed" });
      const replay = await startReplay({ ...window, event: "job.succeeded" });
      await failedDeliveries(1, { id: idOf(3) });
      expect(replay.matched).toBe(1);
      while ((await advance(10)) !== null);
      const statusOf = async (id: string) => (await context.db.deliveries.getDelivery(id))?.delivery.status;
      expect([await statusOf(idOf(1)), await statusOf(idOf(2)), await statusOf(idOf(3))]).toEqual(["pending", "failed", "failed"]);
    });

    it("a replay waits, re-driving nothing, while as many deliveries as the limit are due", async () => {
      await failedDeliveries(3);
      await context.db.deliveries.createDeliveries([newDelivery(), newDelivery()]);
      await startReplay();
      expect(await advance(10, 2)).toMatchObject({ waited: true, redriven: 0, done: false });
      expect(await advance(10, 3)).toMatchObject({ waited: false, redriven: 3, done: true });
    });

    it("a pending delivery an attempt holds is passed over and counted as skipped", async () => {
      const held = newDelivery({ lease: { token: randomUUID(), expiresAt: at(10 * 60_000) } });
      const free = newDelivery({ createdAt: at(1) });
      await context.db.deliveries.createDeliveries([held, free]);
      const replay = await startReplay({ ...window, status: "pending" });
      expect(replay.matched).toBe(2);
      expect(await advance(10)).toMatchObject({ redriven: 1, skipped: 1, done: true });
      expect((await context.db.deliveries.getDelivery(held.id))?.delivery.nextAttemptAt).toEqual(at(10 * 60_000));
    });

    it("a replay of nothing is completed at once", async () => {
      const replay = await startReplay();
      expect(replay).toMatchObject({ status: "completed", matched: 0, finishedAt: NOW });
      expect(await advance(10)).toBeNull();
    });

    it("a cancelled replay re-drives nothing more; cancelling it again is not_running; an unknown or malformed id is not_found", async () => {
      await failedDeliveries(3);
      const replay = await startReplay();
      await advance(1);
      expect(await context.db.replays.cancelReplay({ id: replay.id, now: NOW })).toMatchObject({ outcome: "cancelled", replay: { status: "cancelled", redriven: 1 } });
      expect(await advance(1)).toBeNull();
      expect((await context.db.replays.cancelReplay({ id: replay.id, now: NOW })).outcome).toBe("not_running");
      expect((await context.db.replays.cancelReplay({ id: randomUUID(), now: NOW })).outcome).toBe("not_found");
      expect((await context.db.replays.cancelReplay({ id: "nope", now: NOW })).outcome).toBe("not_found");
      expect(await context.db.replays.getReplay("nope")).toBeNull();
    });

    it("a replay keeps its filter as given", async () => {
      const filter: ReplayFilter = { ...window, status: "sent", origin: "https://a.example", event: "job.succeeded", jobIds: [randomUUID()] };
      const replay = await startReplay(filter);
      expect((await context.db.replays.getReplay(replay.id))?.filter).toEqual(filter);
    });
  });

  describe("dead letters reprocessed", () => {
    it("a dead letter is found by id, marked reprocessed with its delivery, and the list filters on it", async () => {
      await context.db.deadLetters.recordDeadLetters([newDeadLetter({ reason: "unknown_job" }), newDeadLetter({ reason: "unknown_job" })]);
      const [newer, older] = await context.db.deadLetters.listDeadLetters({ limit: 10 });
      const deliveryId = randomUUID();
      await context.db.transaction(async (tx) => {
        expect(await tx.deadLetters.lockDeadLetter(older!.id)).toMatchObject({ id: older!.id, reprocessedAt: null, deliveryId: null });
        await tx.deadLetters.markReprocessed({ id: older!.id, deliveryId, now: NOW });
      });
      expect(await context.db.transaction((tx) => tx.deadLetters.lockDeadLetter(older!.id))).toMatchObject({ reprocessedAt: NOW, deliveryId });
      expect((await context.db.deadLetters.listDeadLetters({ limit: 10, filter: { reprocessed: true } })).map((l) => l.id)).toEqual([older!.id]);
      expect((await context.db.deadLetters.listDeadLetters({ limit: 10, filter: { reprocessed: false } })).map((l) => l.id)).toEqual([newer!.id]);
      expect(await context.db.transaction((tx) => tx.deadLetters.lockDeadLetter("12345678"))).toBeNull();
      expect(await context.db.transaction((tx) => tx.deadLetters.lockDeadLetter("x"))).toBeNull();
    });
  });
}
