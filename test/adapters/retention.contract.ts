import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { at, attemptRecord, type ContractContext, newDeadLetter, newDelivery, T0 } from "../support/contract-subject.ts";

/** Pruning of old rows, on every Database implementation. */
export function describeRetentionContract(context: ContractContext): void {
  const CUTOFF = at(10 * 60_000);
  const failedAt = (createdAt: Date) => newDelivery({ rejection: "connection_refused", createdAt });

  describe("retention", () => {
    it("prunes finished deliveries from before the cutoff with their attempts and operator actions, never pending or newer ones, a batch at a time", async () => {
      const { db } = context;
      const old = [failedAt(T0), failedAt(at(1)), failedAt(at(2))];
      const recent = failedAt(at(20 * 60_000));
      const pending = newDelivery({ createdAt: T0 });
      const sent = newDelivery({ createdAt: T0, lease: { token: randomUUID(), expiresAt: at(60_000) } });
      await db.deliveries.createDeliveries([...old, recent, pending, sent]);
      await db.deliveries.completeAttempt({ deliveryId: sent.id, leaseToken: sent.lease!.token, attempt: attemptRecord(sent.id, { startedAt: at(5) }), next: { kind: "sent" } });
      await db.deliveries.recordOperatorAction({ deliveryId: old[0]!.id, action: "retry", result: "already_sent", createdAt: at(3) });

      expect(await db.retention.pruneDeliveries({ before: CUTOFF, limit: 2 })).toBe(2);
      expect(await db.retention.pruneDeliveries({ before: CUTOFF, limit: 2 })).toBe(2);
      expect(await db.retention.pruneDeliveries({ before: CUTOFF, limit: 2 })).toBe(0);
      const left = await db.deliveries.listDeliveries({ filter: {}, limit: 10 });
      expect(left.map((d) => d.id).sort()).toEqual([recent.id, pending.id].sort());
      expect(await db.deliveries.getDelivery(sent.id)).toBeNull();
    });

    it("prunes outbox rows processed before the cutoff, never unprocessed ones", async () => {
      const { db } = context;
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await db.outbox.appendEvent({ jobId: randomUUID(), event: `e${i}`, traceId: null, job: null, now: T0 }));
      await db.outbox.markProcessed({ ids: [ids[0]!], now: at(1) });
      await db.outbox.markProcessed({ ids: [ids[1]!], now: at(20 * 60_000) });
      expect(await db.retention.pruneOutbox({ before: CUTOFF, limit: 10 })).toBe(1);
      const unprocessed = await db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
      expect(unprocessed.map((row) => row.id)).toEqual([ids[2]]);
      expect(await db.retention.pruneOutbox({ before: at(30 * 60_000), limit: 10 })).toBe(1);
    });

    it("prunes dead letters recorded before the cutoff", async () => {
      const { db } = context;
      await db.deadLetters.recordDeadLetters([newDeadLetter({ createdAt: T0 }), newDeadLetter({ createdAt: at(1) }), newDeadLetter({ createdAt: at(20 * 60_000) })]);
      expect(await db.retention.pruneDeadLetters({ before: CUTOFF, limit: 10 })).toBe(2);
      expect((await db.deadLetters.listDeadLetters({ limit: 10 })).map((l) => l.createdAt)).toEqual([at(20 * 60_000)]);
    });

    it("two prunes at once delete each row once", async () => {
      const { db } = context;
      await db.deliveries.createDeliveries(Array.from({ length: 40 }, (_, i) => failedAt(at(i))));
      const counts = await Promise.all([
        db.retention.pruneDeliveries({ before: CUTOFF, limit: 25 }),
        db.retention.pruneDeliveries({ before: CUTOFF, limit: 25 }),
      ]);
      const again = await db.retention.pruneDeliveries({ before: CUTOFF, limit: 25 });
      expect(counts[0]! + counts[1]! + again).toBe(40);
      expect(await db.deliveries.listDeliveries({ filter: {}, limit: 10 })).toEqual([]);
    });
  });
}
