import { randomUUID } from "node:crypto";
import { uuidV7 } from "../../src/adapters/uuid-v7.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { describeCompletionContract } from "./delivery-completion.contract.ts";
import { at, type ContractContext, type ContractOptions, type ContractSubject, newDelivery, T0 } from "../support/contract-subject.ts";
import { describeRepositoriesContract } from "./repositories.contract.ts";
import { describeReplaysContract } from "./replays.contract.ts";
import { describeRetentionContract } from "./retention.contract.ts";
import { describeBacklogContract } from "./backlog.contract.ts";

export type { ContractOptions, ContractSubject } from "../support/contract-subject.ts";

const LEASE_MS = 60_000;

/**
 * The promises of the Database port (src/ports), as one suite that every implementation must
 * pass: the memory fake, Postgres and the embedded PGlite.
 */
export function describeDatabaseContract(
  name: string,
  makeDatabase: () => Promise<ContractSubject>,
  options: ContractOptions,
): void {
  describe(name, () => {
    let current: ContractSubject | null = null;
    const context: ContractContext = {
      get subject() {
        if (current === null) throw new Error("the database under test is not ready");
        return current;
      },
      get db() {
        return context.subject.db;
      },
      options,
    };

    beforeAll(async () => {
      current = await makeDatabase();
    });
    afterAll(async () => {
      await current?.cleanup();
    });
    beforeEach(async () => {
      await context.subject.reset();
    });

    describeCreateAndClaimContract(context);
    describeCompletionContract(context);
    describeRepositoriesContract(context);
    describeReplaysContract(context);
    describeRetentionContract(context);
    describeBacklogContract(context);
  });
}

function describeCreateAndClaimContract(context: ContractContext): void {
  describe("creating and claiming deliveries", () => {
    it("creating deliveries returns the ids of the rows it created", async () => {
      const rows = [newDelivery(), newDelivery()];
      const ids = await context.db.deliveries.createDeliveries(rows);
      expect([...ids].sort()).toEqual(rows.map((r) => r.id).sort());
    });

    it("creating an existing (job, event) again leaves it as it is and returns only the new ids", async () => {
      const first = newDelivery();
      await context.db.deliveries.createDeliveries([first]);
      const again = newDelivery({ jobId: first.jobId, event: first.event, url: "https://other.example/" });
      const fresh = newDelivery({ jobId: first.jobId, event: "job.failed" });
      const ids = await context.db.deliveries.createDeliveries([again, fresh]);
      expect(ids).toEqual([fresh.id]);
      expect(await context.db.deliveries.getDelivery(again.id)).toBeNull();
      expect((await context.db.deliveries.getDelivery(first.id))?.delivery.url).toBe(first.url);
    });

    it("the same (job, event) twice in one batch creates one delivery", async () => {
      const first = newDelivery();
      const twin = newDelivery({ jobId: first.jobId, event: first.event });
      const ids = await context.db.deliveries.createDeliveries([first, twin]);
      expect(ids).toEqual([first.id]);
      expect(await context.db.deliveries.listDeliveriesForJob(first.jobId)).toHaveLength(1);
    });

    it("creating an empty batch creates nothing", async () => {
      expect(await context.db.deliveries.createDeliveries([])).toEqual([]);
      expect(await context.db.deliveries.nextDueAt()).toBeNull();
    });

    it("a new delivery is pending, with no attempts, and its first attempt is due at its creation time", async () => {
      const row = newDelivery({ createdAt: at(5) });
      await context.db.deliveries.createDeliveries([row]);
      const stored = await context.db.deliveries.getDelivery(row.id);
      expect(stored).toEqual({
        delivery: {
          id: row.id,
          webhookId: row.webhookId,
          jobId: row.jobId,
          event: row.event,
          url: row.url,
          status: "pending",
          attempts: 0,
          attemptBudgetStart: 0,
          payload: row.payload,
          nextAttemptAt: at(5),
          lastAttemptAt: null,
          lastError: null,
          traceId: row.traceId,
          createdAt: at(5),
        },
        attempts: [],
        actions: [],
      });
    });

    it("a delivery created with a rejection is failed at once, with the rejection as its last error, and never claimed", async () => {
      const row = newDelivery({ createdAt: at(5), url: "ftp://receiver.example/", rejection: "invalid_url: only http and https are allowed" });
      await context.db.deliveries.createDeliveries([row]);
      const stored = await context.db.deliveries.getDelivery(row.id);
      expect(stored?.delivery).toMatchObject({
        status: "failed",
        attempts: 0,
        nextAttemptAt: null,
        lastError: "invalid_url: only http and https are allowed",
      });
      expect(await context.db.deliveries.claimDueDeliveries({ now: at(60_000), limit: 10, leaseMs: 1_000 })).toEqual([]);
      expect(await context.db.deliveries.nextDueAt()).toBeNull();
    });

    it("payload bytes round-trip exactly, including NUL bytes and invalid UTF-8", async () => {
      const payload = new Uint8Array([0x00, 0x7b, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x80, 0xed, 0xa0, 0x80, 0x0a]);
      const row = newDelivery({ payload });
      await context.db.deliveries.createDeliveries([row]);
      const stored = await context.db.deliveries.getDelivery(row.id);
      expect(Array.from(stored?.delivery.payload ?? [])).toEqual(Array.from(payload));
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 1, leaseMs: LEASE_MS });
      expect(Array.from(claimed?.payload ?? [])).toEqual(Array.from(payload));
    });

    it("text fields round-trip exactly, whatever characters they hold", async () => {
      const awkward = 'NULL, "quoted" \\back\\slash {braces} ünïcødé 🚀';
      const row = newDelivery({ event: awkward, url: `https://r.example/?q=${awkward}`, traceId: awkward });
      const plain = newDelivery({ traceId: null });
      await context.db.deliveries.createDeliveries([row, plain]);
      const stored = await context.db.deliveries.getDelivery(row.id);
      expect(stored?.delivery).toMatchObject({ event: row.event, url: row.url, traceId: awkward });
      expect((await context.db.deliveries.getDelivery(plain.id))?.delivery.traceId).toBeNull();
    });

    it("claiming takes only pending deliveries that are due, oldest due first", async () => {
      const late = newDelivery({ createdAt: at(-1_000) });
      const oldest = newDelivery({ createdAt: at(-3_000) });
      const middle = newDelivery({ createdAt: at(-2_000) });
      const future = newDelivery({ createdAt: at(10_000) });
      await context.db.deliveries.createDeliveries([late, oldest, middle, future]);
      const claimed = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 10, leaseMs: LEASE_MS });
      expect(claimed.map((d) => d.id)).toEqual([oldest.id, middle.id, late.id]);
    });

    it("claiming respects the limit and takes the oldest due first", async () => {
      const rows = [0, 1, 2, 3, 4].map((i) => newDelivery({ createdAt: at(-i * 1_000) }));
      await context.db.deliveries.createDeliveries(rows);
      const claimed = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 2, leaseMs: LEASE_MS });
      expect(claimed.map((d) => d.id)).toEqual([rows[4]?.id, rows[3]?.id]);
    });

    it("a claimed delivery has a lease until now + leaseMs, and its next attempt moves there", async () => {
      const row = newDelivery();
      await context.db.deliveries.createDeliveries([row]);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: at(10), limit: 1, leaseMs: LEASE_MS });
      expect(claimed?.leaseExpiresAt).toEqual(at(10 + LEASE_MS));
      expect(claimed?.nextAttemptAt).toEqual(at(10 + LEASE_MS));
      expect(claimed?.leaseToken).toMatch(/^[0-9a-f-]{36}$/);
      expect(await context.db.deliveries.nextDueAt()).toEqual(at(10 + LEASE_MS));
    });

    it("a delivery created leased is not claimable until its lease expires, and its token completes it", async () => {
      const lease = { token: randomUUID(), expiresAt: at(LEASE_MS) };
      const row = newDelivery({ lease });
      expect(await context.db.deliveries.createDeliveries([row])).toEqual([row.id]);
      expect(await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS - 1), limit: 5, leaseMs: LEASE_MS })).toEqual([]);
      expect((await context.db.deliveries.getDelivery(row.id))?.delivery).toMatchObject({ status: "pending", nextAttemptAt: at(LEASE_MS) });
      const attempt = { deliveryId: row.id, attemptNumber: 1, startedAt: T0, durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" } as const;
      expect(await context.db.deliveries.completeAttempt({ deliveryId: row.id, leaseToken: lease.token, attempt, next: { kind: "sent" } })).toBe(true);
      expect((await context.db.deliveries.getDelivery(row.id))?.delivery.status).toBe("sent");
    });

    it("a delivery created leased whose holder never completes it is claimed when the lease expires, and the old token no longer counts", async () => {
      const lease = { token: randomUUID(), expiresAt: at(LEASE_MS) };
      const row = newDelivery({ lease });
      await context.db.deliveries.createDeliveries([row]);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS), limit: 5, leaseMs: LEASE_MS });
      expect(claimed?.id).toBe(row.id);
      expect(claimed?.leaseToken).not.toBe(lease.token);
      const attempt = { deliveryId: row.id, attemptNumber: 1, startedAt: T0, durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" } as const;
      expect(await context.db.deliveries.completeAttempt({ deliveryId: row.id, leaseToken: lease.token, attempt, next: { kind: "sent" } })).toBe(false);
    });

    it("a rejected delivery is stored failed and unleased even when a lease is asked for", async () => {
      const row = newDelivery({ rejection: "invalid_url: not http(s)", lease: { token: randomUUID(), expiresAt: at(LEASE_MS) } });
      await context.db.deliveries.createDeliveries([row]);
      expect((await context.db.deliveries.getDelivery(row.id))?.delivery).toMatchObject({ status: "failed", nextAttemptAt: null });
    });

    it("a claimed delivery is not claimed again before its lease expires", async () => {
      await context.db.deliveries.createDeliveries([newDelivery()]);
      expect(await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 5, leaseMs: LEASE_MS })).toHaveLength(1);
      expect(await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS - 1), limit: 5, leaseMs: LEASE_MS })).toEqual([]);
    });

    it("a delivery whose lease expired is claimed again, with a new token", async () => {
      const row = newDelivery();
      await context.db.deliveries.createDeliveries([row]);
      const [first] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 5, leaseMs: LEASE_MS });
      const [second] = await context.db.deliveries.claimDueDeliveries({ now: at(LEASE_MS), limit: 5, leaseMs: LEASE_MS });
      expect(second?.id).toBe(row.id);
      expect(second?.leaseToken).not.toBe(first?.leaseToken);
    });

    it("claims running at the same time never return the same delivery", async () => {
      const rows = Array.from({ length: 60 }, (_, i) => newDelivery({ createdAt: at(-i) }));
      await context.db.deliveries.createDeliveries(rows);
      const batches = await Promise.all(
        Array.from({ length: 24 }, () => context.db.deliveries.claimDueDeliveries({ now: T0, limit: 3, leaseMs: LEASE_MS })),
      );
      const rest = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 100, leaseMs: LEASE_MS });
      const ids = [...batches.flat(), ...rest].map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(rows.map((r) => r.id).sort());
    });

    it("a claimed delivery carries the job's secret", async () => {
      const row = newDelivery();
      await context.subject.insertJob({ id: row.jobId, webhookUrl: row.url, webhookSecret: "whsec_c2VjcmV0" });
      await context.db.deliveries.createDeliveries([row]);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 1, leaseMs: LEASE_MS });
      expect(claimed?.secrets?.map((s) => s.reveal())).toEqual(["whsec_c2VjcmV0"]);
      expect(JSON.stringify(claimed?.secrets)).not.toContain("c2VjcmV0");
    });

    it("a claimed delivery of a job without a secret carries no secrets", async () => {
      const row = newDelivery();
      await context.subject.insertJob({ id: row.jobId, webhookUrl: row.url, webhookSecret: null });
      await context.db.deliveries.createDeliveries([row]);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 1, leaseMs: LEASE_MS });
      expect(claimed?.secrets).toEqual([]);
    });

    it("a claimed delivery whose job row is gone carries null secrets", async () => {
      const row = newDelivery();
      await context.subject.insertJob({ id: row.jobId, webhookUrl: row.url, webhookSecret: "s" });
      await context.db.deliveries.createDeliveries([row]);
      await context.subject.deleteJob(row.jobId);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 1, leaseMs: LEASE_MS });
      expect(claimed?.id).toBe(row.id);
      expect(claimed?.secrets).toBeNull();
    });

    it("a claimed delivery whose event carried its job is signed with the secret stored with it, with no jobs row", async () => {
      const signed = { ...newDelivery(), carriedJob: { secret: makeSecret("whsec_Y2FycmllZA==") } };
      const unsigned = { ...newDelivery(), carriedJob: { secret: null } };
      await context.db.deliveries.createDeliveries([signed, unsigned]);
      const claimed = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 2, leaseMs: LEASE_MS });
      const secretsOf = (id: string) => claimed.find((d) => d.id === id)?.secrets?.map((s) => s.reveal());
      expect(secretsOf(signed.id)).toEqual(["whsec_Y2FycmllZA=="]);
      expect(secretsOf(unsigned.id)).toEqual([]);
      const shown = JSON.stringify([claimed, await context.db.deliveries.getDelivery(signed.id), await context.db.deliveries.listDeliveriesForJob(signed.jobId)]);
      expect(shown).not.toContain("Y2FycmllZA");
    });

    it("nextDueAt is null when nothing is pending, else the earliest next attempt", async () => {
      expect(await context.db.deliveries.nextDueAt()).toBeNull();
      await context.db.deliveries.createDeliveries([newDelivery({ createdAt: at(700) }), newDelivery({ createdAt: at(300) })]);
      expect(await context.db.deliveries.nextDueAt()).toEqual(at(300));
    });

    it("lists deliveries newest id first, filtered by status, job, event, origin and creation time", async () => {
      const rows = [
        newDelivery({ url: "https://a.example/hook", createdAt: at(1_000) }),
        newDelivery({ url: "HTTPS://A.example:8443/x?y", event: "job.failed", createdAt: at(2_000) }),
        newDelivery({ url: "https://b.example", createdAt: at(3_000), rejection: "invalid_url: test" }),
        newDelivery({ url: "http://a.example/", createdAt: at(4_000) }),
      ];
      await context.db.deliveries.createDeliveries(rows);
      const ids = (list: readonly { id: string }[]) => list.map((d) => d.id);
      const newestFirst = rows.map((r) => r.id).sort().reverse();
      const list = (filter: Parameters<typeof context.db.deliveries.listDeliveries>[0]["filter"]) =>
        context.db.deliveries.listDeliveries({ filter, limit: 10 });
      expect(ids(await list({}))).toEqual(newestFirst);
      expect(ids(await list({ status: "failed" }))).toEqual([rows[2]!.id]);
      expect(ids(await list({ jobId: rows[1]!.jobId.toUpperCase() }))).toEqual([rows[1]!.id]);
      expect(ids(await list({ event: "job.failed" }))).toEqual([rows[1]!.id]);
      expect(ids(await list({ origin: "https://a.example" }))).toEqual([rows[0]!.id]);
      expect(ids(await list({ origin: "https://a.example:8443" }))).toEqual([rows[1]!.id]);
      expect(ids(await list({ origin: "https://b.example" }))).toEqual([rows[2]!.id]);
      expect(ids(await list({ createdAfter: at(2_000), createdBefore: at(4_000) }))).toEqual(newestFirst.filter((id) => id === rows[1]!.id || id === rows[2]!.id));
      expect(ids(await list({ status: "pending", event: "job.succeeded", origin: "http://a.example" }))).toEqual([rows[3]!.id]);
      expect(await list({ jobId: "not-a-uuid" })).toEqual([]);
    });

    it("a creation window finds a delivery whose id was minted up to a minute after its creation time, and none outside the window", async () => {
      const late = newDelivery({ id: uuidV7(at(60_000).getTime()), createdAt: at(0) });
      const before = newDelivery({ createdAt: at(-1) });
      const after = newDelivery({ createdAt: at(1_000) });
      await context.db.deliveries.createDeliveries([late, before, after]);
      const found = await context.db.deliveries.listDeliveries({ filter: { createdAfter: at(0), createdBefore: at(1_000) }, limit: 10 });
      expect(found.map((d) => d.id)).toEqual([late.id]);
    });

    it("pages through deliveries by keyset: each row once, in order, even while new rows are inserted", async () => {
      const first = Array.from({ length: 7 }, () => newDelivery());
      await context.db.deliveries.createDeliveries(first);
      const seen: string[] = [];
      let beforeId: string | undefined;
      for (;;) {
        const page = await context.db.deliveries.listDeliveries({ filter: {}, limit: 3, beforeId });
        seen.push(...page.map((d) => d.id));
        if (page.length < 3) break;
        beforeId = page[page.length - 1]!.id;
        await context.db.deliveries.createDeliveries([newDelivery()]);
      }
      const firstIds = first.map((d) => d.id);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of firstIds) expect(seen.filter((s) => s === id)).toHaveLength(1);
      expect(seen).toEqual([...seen].sort().reverse());
      expect(await context.db.deliveries.listDeliveries({ filter: {}, limit: 3, beforeId: "nope" })).toEqual([]);
      expect(await context.db.deliveries.listDeliveries({ filter: {}, limit: 0 })).toEqual([]);
    });

    it("listing a job's deliveries gives them oldest first; unknown and malformed ids give none", async () => {
      const first = newDelivery({ createdAt: at(1) });
      const second = newDelivery({ jobId: first.jobId, event: "job.failed", createdAt: at(2) });
      await context.db.deliveries.createDeliveries([second, first, newDelivery()]);
      const listed = await context.db.deliveries.listDeliveriesForJob(first.jobId);
      expect(listed.map((d) => d.id)).toEqual([first.id, second.id]);
      expect(await context.db.deliveries.listDeliveriesForJob(first.jobId.toUpperCase())).toHaveLength(2);
      expect(await context.db.deliveries.listDeliveriesForJob("00000000-0000-4000-8000-000000000000")).toEqual([]);
      expect(await context.db.deliveries.listDeliveriesForJob("not-a-uuid")).toEqual([]);
      expect(await context.db.deliveries.listDeliveriesForJob("")).toEqual([]);
    });

    it("getting an unknown or malformed delivery id gives null", async () => {
      expect(await context.db.deliveries.getDelivery("00000000-0000-4000-8000-000000000000")).toBeNull();
      expect(await context.db.deliveries.getDelivery("42")).toBeNull();
    });
  });
}
