import { describe, expect, it } from "vitest";
import type { NextState } from "../../src/domain/delivery.ts";
import type { ClaimedDelivery } from "../../src/ports/delivery-store.ts";
import { at, attemptRecord, type ContractContext, newDelivery, T0 } from "../support/contract-subject.ts";

const LEASE_MS = 30_000;

export function describeCompletionContract(context: ContractContext): void {
  async function claimOne(now = T0): Promise<ClaimedDelivery> {
    const row = newDelivery({ createdAt: now });
    await context.db.deliveries.createDeliveries([row]);
    const [claimed] = await context.db.deliveries.claimDueDeliveries({ now, limit: 1, leaseMs: LEASE_MS });
    if (claimed === undefined) throw new Error("nothing was claimed");
    return claimed;
  }

  function complete(claimed: ClaimedDelivery, next: NextState, attempt = attemptRecord(claimed.id)) {
    return context.db.deliveries.completeAttempt({ deliveryId: claimed.id, leaseToken: claimed.leaseToken, attempt, next });
  }

  describe("completing attempts and releasing leases", () => {
    it("completing with the current token records the attempt, marks the delivery sent and returns true", async () => {
      const claimed = await claimOne();
      const attempt = attemptRecord(claimed.id, { startedAt: at(5), durationMs: 120, statusCode: 204, responseBody: "" });
      expect(await complete(claimed, { kind: "sent" }, attempt)).toBe(true);
      const stored = await context.db.deliveries.getDelivery(claimed.id);
      expect(stored?.delivery).toMatchObject({
        status: "sent",
        attempts: 1,
        nextAttemptAt: null,
        lastAttemptAt: at(5),
        lastError: null,
      });
      expect(stored?.attempts).toEqual([attempt]);
      expect(await context.db.deliveries.nextDueAt()).toBeNull();
      expect(await context.db.deliveries.claimDueDeliveries({ now: at(10 * LEASE_MS), limit: 5, leaseMs: LEASE_MS })).toEqual([]);
    });

    it("completing many attempts in one call fences each by its own token and records only those whose lease held", async () => {
      const [a, b, c] = [await claimOne(), await claimOne(), await claimOne()];
      const attemptA = attemptRecord(a!.id, { startedAt: at(5), durationMs: 10 });
      const attemptC = attemptRecord(c!.id, { statusCode: 500, outcome: "retry", startedAt: at(6), durationMs: 20 });
      const results = await context.db.deliveries.completeAttempts([
        { deliveryId: a!.id, leaseToken: a!.leaseToken, attempt: attemptA, next: { kind: "sent" } },
        { deliveryId: b!.id, leaseToken: "00000000-0000-4000-8000-000000000000", attempt: attemptRecord(b!.id), next: { kind: "sent" } },
        { deliveryId: c!.id, leaseToken: c!.leaseToken, attempt: attemptC, next: { kind: "retry", at: at(60_000), error: "HTTP 500" } },
      ]);
      expect(results).toEqual([true, false, true]);
      expect((await context.db.deliveries.getDelivery(a!.id))?.delivery).toMatchObject({ status: "sent", attempts: 1 });
      expect((await context.db.deliveries.getDelivery(a!.id))?.attempts).toEqual([attemptA]);
      expect((await context.db.deliveries.getDelivery(b!.id))?.delivery).toMatchObject({ status: "pending", attempts: 0 });
      expect((await context.db.deliveries.getDelivery(b!.id))?.attempts).toEqual([]);
      expect((await context.db.deliveries.getDelivery(c!.id))?.delivery).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: at(60_000), lastError: "HTTP 500" });
      expect((await context.db.deliveries.getDelivery(c!.id))?.attempts).toEqual([attemptC]);
    });

    it("completing an empty batch changes nothing", async () => {
      expect(await context.db.deliveries.completeAttempts([])).toEqual([]);
    });

    it("a retry completion keeps the delivery pending until the retry time, with the error", async () => {
      const claimed = await claimOne();
      const attempt = attemptRecord(claimed.id, {
        statusCode: null,
        errorKind: "connection_refused",
        errorMessage: "connect ECONNREFUSED 127.0.0.1:9",
        responseBody: null,
        outcome: "retry",
      });
      expect(await complete(claimed, { kind: "retry", at: at(90_000), error: "connection refused" }, attempt)).toBe(true);
      const stored = await context.db.deliveries.getDelivery(claimed.id);
      expect(stored?.delivery).toMatchObject({ status: "pending", attempts: 1, nextAttemptAt: at(90_000), lastError: "connection refused" });
      expect(stored?.attempts).toEqual([attempt]);
      expect(await context.db.deliveries.nextDueAt()).toEqual(at(90_000));
      expect(await context.db.deliveries.claimDueDeliveries({ now: at(89_999), limit: 5, leaseMs: LEASE_MS })).toEqual([]);
      const [again] = await context.db.deliveries.claimDueDeliveries({ now: at(90_000), limit: 5, leaseMs: LEASE_MS });
      expect(again?.id).toBe(claimed.id);
      expect(again?.attempts).toBe(1);
    });

    it("a failed completion makes the delivery final, with its error", async () => {
      const claimed = await claimOne();
      const attempt = attemptRecord(claimed.id, { statusCode: 302, location: "https://elsewhere.example/", outcome: "failed" });
      expect(await complete(claimed, { kind: "failed", error: "HTTP 410" }, attempt)).toBe(true);
      const stored = await context.db.deliveries.getDelivery(claimed.id);
      expect(stored?.delivery).toMatchObject({ status: "failed", attempts: 1, nextAttemptAt: null, lastError: "HTTP 410" });
      expect(stored?.attempts).toEqual([attempt]);
      expect(await context.db.deliveries.nextDueAt()).toBeNull();
    });

    it("completing with a stale token after the delivery was claimed again changes nothing and returns false", async () => {
      const first = await claimOne();
      const [second] = await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS), limit: 1, leaseMs: LEASE_MS });
      expect(second?.id).toBe(first.id);
      const before = await context.db.deliveries.getDelivery(first.id);
      expect(await complete(first, { kind: "sent" })).toBe(false);
      expect(await context.db.deliveries.getDelivery(first.id)).toEqual(before);
      if (second === undefined) throw new Error("not claimed again");
      expect(await complete(second, { kind: "sent" })).toBe(true);
    });

    it("a lease token completes at most once", async () => {
      const claimed = await claimOne();
      const retry = { kind: "retry", at: T0, error: "HTTP 500" } as const;
      expect(await complete(claimed, retry, attemptRecord(claimed.id, { outcome: "retry" }))).toBe(true);
      expect(await complete(claimed, { kind: "sent" }, attemptRecord(claimed.id, { attemptNumber: 2 }))).toBe(false);
      const stored = await context.db.deliveries.getDelivery(claimed.id);
      expect(stored?.attempts).toHaveLength(1);
      expect(stored?.delivery.status).toBe("pending");
    });

    it("completing with a malformed token or id returns false", async () => {
      const claimed = await claimOne();
      const attempt = attemptRecord(claimed.id);
      expect(await context.db.deliveries.completeAttempt({ deliveryId: claimed.id, leaseToken: "nope", attempt, next: { kind: "sent" } })).toBe(false);
      expect(await context.db.deliveries.completeAttempt({ deliveryId: "nope", leaseToken: claimed.leaseToken, attempt, next: { kind: "sent" } })).toBe(false);
      expect((await context.db.deliveries.getDelivery(claimed.id))?.attempts).toEqual([]);
    });

    it("getting a delivery returns its attempts ordered by number", async () => {
      let claimed = await claimOne();
      for (const n of [1, 2, 3]) {
        const outcome = n === 3 ? "sent" : "retry";
        const next: NextState = n === 3 ? { kind: "sent" } : { kind: "retry", at: at(n * 1_000), error: `HTTP 50${n}` };
        const attempt = attemptRecord(claimed.id, { attemptNumber: n, startedAt: at(n * 1_000 - 1_000), statusCode: 500 + n, outcome });
        expect(await complete(claimed, next, attempt)).toBe(true);
        if (n < 3) {
          const [again] = await context.db.deliveries.claimDueDeliveries({ now: at(n * 1_000), limit: 1, leaseMs: LEASE_MS });
          if (again === undefined) throw new Error(`retry ${n} was not due`);
          claimed = again;
        }
      }
      const stored = await context.db.deliveries.getDelivery(claimed.id);
      expect(stored?.attempts.map((a) => [a.attemptNumber, a.statusCode, a.outcome])).toEqual([
        [1, 501, "retry"],
        [2, 502, "retry"],
        [3, 503, "sent"],
      ]);
      expect(stored?.delivery).toMatchObject({ status: "sent", attempts: 3, lastAttemptAt: at(2_000) });
    });

    it("releasing a lease makes the delivery due at once and ends the old token", async () => {
      const claimed = await claimOne();
      expect(await context.db.deliveries.releaseLeases({ leases: [{ deliveryId: claimed.id, leaseToken: claimed.leaseToken }], now: at(1) })).toEqual([true]);
      expect(await context.db.deliveries.nextDueAt()).toEqual(at(1));
      const [again] = await context.db.deliveries.claimDueDeliveries({ now: at(1), limit: 1, leaseMs: LEASE_MS });
      expect(again?.id).toBe(claimed.id);
      expect(again?.leaseToken).not.toBe(claimed.leaseToken);
      expect(again?.attempts).toBe(0);
      expect(await complete(claimed, { kind: "sent" })).toBe(false);
    });

    it("releasing several leases at once gives back each one still held and reports each, in order", async () => {
      const [held, stale] = [await claimOne(), await claimOne()];
      expect(await complete(stale, { kind: "sent" })).toBe(true);
      const leases = [
        { deliveryId: held.id, leaseToken: held.leaseToken },
        { deliveryId: stale.id, leaseToken: stale.leaseToken },
        { deliveryId: "not-a-uuid", leaseToken: held.leaseToken },
      ];
      expect(await context.db.deliveries.releaseLeases({ leases, now: at(5) })).toEqual([true, false, false]);
      expect(await context.db.deliveries.nextDueAt()).toEqual(at(5));
      expect(await context.db.deliveries.releaseLeases({ leases: [], now: at(5) })).toEqual([]);
    });

    it("releasing leases with their own due times makes each delivery due at its own time", async () => {
      const [early, late, unset] = [await claimOne(), await claimOne(), await claimOne()];
      const leases = [
        { deliveryId: late.id, leaseToken: late.leaseToken, dueAt: at(9_000) },
        { deliveryId: early.id, leaseToken: early.leaseToken, dueAt: at(7_000) },
        { deliveryId: unset.id, leaseToken: unset.leaseToken },
      ];
      expect(await context.db.deliveries.releaseLeases({ leases, now: at(8_000) })).toEqual([true, true, true]);
      const order = async (now: number) =>
        (await context.db.deliveries.claimDueDeliveries({ now: at(now), limit: 3, leaseMs: LEASE_MS })).map((d) => d.id);
      expect(await order(6_999)).toEqual([]);
      expect(await order(8_500)).toEqual([early.id, unset.id]);
      expect(await order(9_000)).toEqual([late.id]);
    });

    it("releasing with a stale token changes nothing and returns false", async () => {
      const first = await claimOne();
      const [second] = await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS), limit: 1, leaseMs: LEASE_MS });
      expect(await context.db.deliveries.releaseLeases({ leases: [{ deliveryId: first.id, leaseToken: first.leaseToken }], now: at(LEASE_MS) })).toEqual([false]);
      expect(await context.db.deliveries.nextDueAt()).toEqual(second?.leaseExpiresAt);
    });
  });

  describe("an operator's retry and cancel", () => {
    it("retrying a failed delivery makes it pending, due now, with a fresh attempt budget; retrying a sent one needs resend", async () => {
      const failed = await claimOne();
      await complete(failed, { kind: "failed", error: "HTTP 500" }, attemptRecord(failed.id, { statusCode: 500, outcome: "failed" }));
      const retried = await context.db.deliveries.redriveDelivery({ id: failed.id.toUpperCase(), now: at(60_000), resend: false });
      expect(retried).toEqual({ outcome: "redriven", delivery: expect.objectContaining({ id: failed.id, status: "pending", attempts: 1, attemptBudgetStart: 1, nextAttemptAt: at(60_000) }) });
      const [again] = await context.db.deliveries.claimDueDeliveries({ now: at(60_000), limit: 1, leaseMs: LEASE_MS });
      expect(again?.id).toBe(failed.id);
      await complete(again!, { kind: "sent" }, attemptRecord(failed.id, { attemptNumber: 2 }));
      expect(await context.db.deliveries.redriveDelivery({ id: failed.id, now: at(70_000), resend: false })).toEqual({ outcome: "already_sent", delivery: null });
      const resent = await context.db.deliveries.redriveDelivery({ id: failed.id, now: at(80_000), resend: true });
      expect(resent.delivery).toMatchObject({ status: "pending", attempts: 2, attemptBudgetStart: 2, nextAttemptAt: at(80_000) });
    });

    it("retrying a pending delivery makes it due now without a new budget, and leaves a leased one to its attempt", async () => {
      const leased = await claimOne(at(1));
      // Due in a minute, not leased: a retry makes it due now.
      const row = newDelivery({ createdAt: at(60_000) });
      await context.db.deliveries.createDeliveries([row]);
      const redriven = await context.db.deliveries.redriveDelivery({ id: row.id, now: at(2), resend: false });
      expect(redriven.delivery).toMatchObject({ status: "pending", attemptBudgetStart: 0, nextAttemptAt: at(2) });
      expect(await context.db.deliveries.redriveDelivery({ id: leased.id, now: at(2), resend: true })).toEqual({ outcome: "in_flight", delivery: null });
      expect(await context.db.deliveries.redriveDelivery({ id: newDelivery().id, now: at(2), resend: true })).toEqual({ outcome: "not_found", delivery: null });
      expect(await context.db.deliveries.redriveDelivery({ id: "not-a-uuid", now: at(2), resend: true })).toEqual({ outcome: "not_found", delivery: null });
    });

    it("cancelling a pending delivery fails it as cancelled, and the attempt in flight can no longer record itself", async () => {
      const claimed = await claimOne();
      const cancelled = await context.db.deliveries.cancelDelivery({ id: claimed.id, now: at(10) });
      expect(cancelled).toEqual({ outcome: "cancelled", delivery: expect.objectContaining({ status: "failed", lastError: "cancelled", nextAttemptAt: null }) });
      expect(await complete(claimed, { kind: "sent" })).toBe(false);
      expect((await context.db.deliveries.getDelivery(claimed.id))?.delivery).toMatchObject({ status: "failed", lastError: "cancelled", attempts: 0 });
      expect(await context.db.deliveries.cancelDelivery({ id: claimed.id, now: at(20) })).toEqual({ outcome: "not_pending", delivery: null });
      expect(await context.db.deliveries.cancelDelivery({ id: newDelivery().id, now: at(20) })).toEqual({ outcome: "not_found", delivery: null });
    });

    it("records operator actions and shows them with the delivery, oldest first", async () => {
      const claimed = await claimOne();
      await context.db.deliveries.recordOperatorAction({ deliveryId: claimed.id, action: "retry", result: "in_flight", createdAt: at(1) });
      await context.db.deliveries.recordOperatorAction({ deliveryId: claimed.id.toUpperCase(), action: "cancel", result: "cancelled", createdAt: at(2) });
      expect((await context.db.deliveries.getDelivery(claimed.id))?.actions).toEqual([
        { deliveryId: claimed.id, action: "retry", result: "in_flight", createdAt: at(1), replayId: null },
        { deliveryId: claimed.id, action: "cancel", result: "cancelled", createdAt: at(2), replayId: null },
      ]);
    });
  });
}
