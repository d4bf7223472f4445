import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { at, type ContractContext, newDelivery, T0 } from "../support/contract-subject.ts";

/** The backlog read for metrics, on every Database implementation. */
export function describeBacklogContract(context: ContractContext): void {
  describe("backlog", () => {
    it("reads an empty backlog as zeros and no oldest times", async () => {
      expect(await context.db.backlog.readBacklog(T0)).toEqual({ due: 0, pending: 0, oldestDueAt: null, outboxUnprocessed: 0, oldestOutboxAt: null });
    });

    it("counts due and pending deliveries, never leased, later or final ones as due, and says since when the oldest is due", async () => {
      const { db } = context;
      const now = at(60_000);
      const dueLongest = newDelivery({ createdAt: at(1_000) });
      const due = newDelivery({ createdAt: at(30_000) });
      const later = newDelivery({ createdAt: at(120_000) });
      const leased = newDelivery({ createdAt: at(0), lease: { token: randomUUID(), expiresAt: at(90_000) } });
      const failed = newDelivery({ createdAt: at(0), rejection: "invalid_url: nope" });
      await db.deliveries.createDeliveries([dueLongest, due, later, leased, failed]);
      expect(await db.backlog.readBacklog(now)).toMatchObject({ due: 2, pending: 4, oldestDueAt: at(1_000) });
      expect(await db.backlog.readBacklog(at(0))).toMatchObject({ due: 0, pending: 4, oldestDueAt: null });
    });

    it("counts unprocessed outbox rows and gives the oldest one's time, processed rows aside", async () => {
      const { db } = context;
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await db.outbox.appendEvent({ jobId: randomUUID(), event: `e${i}`, traceId: null, job: null, now: at(i * 1_000) }));
      await db.outbox.markProcessed({ ids: [ids[0]!], now: at(5_000) });
      expect(await db.backlog.readBacklog(at(10_000))).toMatchObject({ outboxUnprocessed: 2, oldestOutboxAt: at(1_000) });
    });
  });
}
