import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { DeadLetter } from "../../src/ports/dead-letters.ts";
import { DataRefusedError } from "../../src/ports/transactor.ts";
import { at, type ContractContext, type ContractOptions, newDeadLetter, newDelivery, T0 } from "../support/contract-subject.ts";
import { within } from "../support/wait-for.ts";

/**
 * Registers a test that holds one transaction open while another runs; where transactions run
 * one at a time it is registered as skipped, its name saying where and why, so the run shows it.
 */
function itWithConcurrentTransactions(options: ContractOptions, name: string, test: () => Promise<void>): void {
  if (options.transactionsOneAtATime === null) it(name, test);
  else it.skip(`${name} (not on ${options.transactionsOneAtATime})`, test);
}

export function describeRepositoriesContract(context: ContractContext): void {
  const append = (event = "job.succeeded", jobId: string = randomUUID()) =>
    context.db.outbox.appendEvent({ jobId, event, traceId: null, now: T0 });

  describe("the outbox", () => {
    it("appending events returns increasing ids, as strings", async () => {
      const first = await append();
      const second = await append();
      expect(first).toMatch(/^\d+$/);
      expect(BigInt(second) > BigInt(first)).toBe(true);
    });

    it("claiming pending events gives unprocessed rows oldest first, up to the limit", async () => {
      const jobId = randomUUID();
      const ids = [await append("a", jobId), await append("b"), await append("c")];
      await context.db.outbox.appendEvent({ jobId, event: "d", traceId: "trace-d", now: T0 });
      const claimed = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 2 }));
      expect(claimed).toEqual([
        { id: ids[0], jobId, event: "a", traceId: null },
        { id: ids[1], jobId: expect.any(String), event: "b", traceId: null },
      ]);
    });

    it("an event appended with its job is claimed with it, as the JSON the producer wrote", async () => {
      const job = { status: "succeeded", finished_at: "2026-01-01T12:00:00.000Z", output_markup: "<story>é</story>", webhook: { url: "https://r.example/", secret: "s" } };
      const [withJob, without] = [await context.db.outbox.appendEvent({ jobId: randomUUID(), event: "a", traceId: null, job, now: T0 }), await append()];
      const claimed = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
      expect(claimed.find((e) => e.id === withJob)?.job).toEqual(job);
      expect(claimed.find((e) => e.id === without)?.job).toBeUndefined();
    });

    it("a claim leaves a job over the size limit unread, with its size, and the rows past its byte budget for the next claim", async () => {
      const jobOf = (bytes: number) => ({ status: "succeeded", output_markup: "x".repeat(bytes) });
      const ids: string[] = [];
      for (const bytes of [600, 5_000, 300, 300, 10]) ids.push(await context.db.outbox.appendEvent({ jobId: randomUUID(), event: "e", traceId: null, job: jobOf(bytes), now: T0 }));
      ids.push(await append());
      const jobLimits = { maxJobBytes: 1_000, maxTotalBytes: 1_200 };
      const first = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10, jobLimits }));
      // 600 read; 5,000 over the limit (unread, not counted); 300 fits the budget (about 990); the next 300 would pass it.
      expect(first.map((e) => e.id)).toEqual(ids.slice(0, 3));
      expect(first[1]).toMatchObject({ unreadJobBytes: expect.any(Number) });
      expect(first[1]!.unreadJobBytes).toBeGreaterThan(5_000);
      expect(first[1]!.job).toBeUndefined();
      expect(first[2]?.job).toEqual(jobOf(300));
      await context.db.outbox.markProcessed({ ids: first.map((e) => e.id), now: T0 });
      const second = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10, jobLimits: { ...jobLimits, maxTotalBytes: 1 } }));
      // The first row is always taken, however small the budget.
      expect(second.map((e) => e.id)).toEqual([ids[3]]);
    });

    it("claiming pending events among given ids takes only those", async () => {
      const ids = [await append(), await append(), await append()];
      const claimed = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10, ids: [ids[1]!] }));
      expect(claimed.map((e) => e.id)).toEqual([ids[1]]);
      expect(await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10, ids: [] }))).toEqual([]);
    });

    it("processed events are not claimed again", async () => {
      const [first, second] = [await append(), await append()];
      await context.db.transaction(async (tx) => {
        await tx.outbox.markProcessed({ ids: [first], now: at(1) });
      });
      const claimed = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
      expect(claimed.map((e) => e.id)).toEqual([second]);
      await context.db.outbox.markProcessed({ ids: [], now: at(2) });
    });

    it("transactions that claim and mark events at the same time process each event once", async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, () => append()));
      const drain = () =>
        context.db.transaction(async (tx) => {
          const claimed = await tx.outbox.claimPendingEvents({ limit: 4 });
          await tx.outbox.markProcessed({ ids: claimed.map((e) => e.id), now: T0 });
          return claimed.map((e) => e.id);
        });
      const batches = await Promise.all([drain(), drain(), drain(), drain()]);
      const rest = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 100 }));
      const processed = [...batches.flat(), ...rest.map((e) => e.id)];
      expect(new Set(processed).size).toBe(processed.length);
      expect(processed.sort()).toEqual([...ids].sort());
    });

    it("a claim with processedAt marks the rows it returns processed in the same step, leaves those past its byte budget pending, and a rolled-back one marks nothing", async () => {
      const jobOf = (bytes: number) => ({ status: "succeeded", output_markup: "x".repeat(bytes) });
      const ids: string[] = [];
      for (const bytes of [600, 600, 10]) ids.push(await context.db.outbox.appendEvent({ jobId: randomUUID(), event: "e", traceId: null, job: jobOf(bytes), now: T0 }));
      const jobLimits = { maxJobBytes: 1_000, maxTotalBytes: 1_000 };
      await context.db
        .transaction(async (tx) => {
          expect((await tx.outbox.claimPendingEvents({ limit: 10, jobLimits, processedAt: T0 })).map((e) => e.id)).toEqual([ids[0]]);
          throw new Error("rolled back");
        })
        .catch(() => {});
      const taken = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10, jobLimits, processedAt: T0 }));
      expect(taken.map((e) => e.id)).toEqual([ids[0]]);
      expect(taken[0]?.job).toEqual(jobOf(600));
      const rest = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
      expect(rest.map((e) => e.id)).toEqual(ids.slice(1));
    });

    it("transactions that claim with processedAt at the same time process each event once", async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, () => append()));
      const drain = () => context.db.transaction(async (tx) => (await tx.outbox.claimPendingEvents({ limit: 4, processedAt: T0 })).map((e) => e.id));
      const batches = await Promise.all([drain(), drain(), drain(), drain()]);
      const rest = await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 100, processedAt: T0 }));
      const processed = [...batches.flat(), ...rest.map((e) => e.id)];
      expect(new Set(processed).size).toBe(processed.length);
      expect(processed.sort()).toEqual([...ids].sort());
      expect(await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 100 }))).toEqual([]);
    });

    itWithConcurrentTransactions(
      context.options,
      "a transaction skips the events another open transaction holds, without waiting",
      async () => {
        const ids = [await append(), await append(), await append(), await append()];
        let held: readonly string[] = [];
        let releaseFirst = (): void => {};
        const firstMayEnd = new Promise<void>((resolve) => (releaseFirst = resolve));
        let signalClaimed = (): void => {};
        const firstClaimed = new Promise<void>((resolve) => (signalClaimed = resolve));
        const first = context.db.transaction(async (tx) => {
          held = (await tx.outbox.claimPendingEvents({ limit: 2 })).map((e) => e.id);
          signalClaimed();
          await firstMayEnd;
        });
        await firstClaimed;
        const second = await within(
          5_000,
          "a claim beside an open transaction",
          context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 })),
        );
        releaseFirst();
        await first;
        expect(held).toEqual(ids.slice(0, 2));
        expect(second.map((e) => e.id)).toEqual(ids.slice(2));
      },
    );
  });

  describe("transactions", () => {
    it("a transaction that resolves commits its work and returns its value", async () => {
      const row = newDelivery();
      const value = await context.db.transaction(async (tx) => {
        await tx.deliveries.createDeliveries([row]);
        return "done";
      });
      expect(value).toBe("done");
      expect(await context.db.deliveries.getDelivery(row.id)).not.toBeNull();
    });

    it("a transaction that throws rolls back everything it did and rethrows", async () => {
      const kept = newDelivery();
      await context.db.deliveries.createDeliveries([kept]);
      const [claimed] = await context.db.deliveries.claimDueDeliveries({ now: T0, limit: 1, leaseMs: 1_000 });
      if (claimed === undefined) throw new Error("nothing was claimed");
      const dropped = newDelivery();
      const failure = new Error("work failed");
      await expect(
        context.db.transaction(async (tx) => {
          await tx.deliveries.createDeliveries([dropped]);
          await tx.outbox.appendEvent({ jobId: dropped.jobId, event: "job.succeeded", traceId: null, now: T0 });
          await tx.deadLetters.recordDeadLetters([newDeadLetter({ reason: "unknown_job" })]);
          const attempt = { deliveryId: claimed.id, attemptNumber: 1, startedAt: T0, durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" } as const;
          expect(await tx.deliveries.completeAttempt({ deliveryId: claimed.id, leaseToken: claimed.leaseToken, attempt, next: { kind: "sent" } })).toBe(true);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await context.db.deliveries.getDelivery(dropped.id)).toBeNull();
      expect(await context.db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }))).toEqual([]);
      expect(await context.db.deadLetters.listDeadLetters({ limit: 10 })).toEqual([]);
      const stillLeased = await context.db.deliveries.getDelivery(kept.id);
      expect(stillLeased?.delivery.status).toBe("pending");
      expect(stillLeased?.attempts).toEqual([]);
    });

    it("a transaction whose data the database refuses throws a DataRefusedError with the SQLSTATE, and stores nothing", async () => {
      const good = newDelivery();
      const refused = { ...newDelivery(), jobId: "not-a-uuid" };
      const error = await context.db.transaction((tx) => tx.deliveries.createDeliveries([good, refused])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataRefusedError);
      expect((error as DataRefusedError).code).toBe("22P02");
      expect(await context.db.deliveries.getDelivery(good.id)).toBeNull();
    });
  });

  describe("dead letters", () => {
    it("dead letters round-trip with every field, newest first", async () => {
      const fromKafka = newDeadLetter({
        source: "kafka",
        reason: "invalid_json: Unexpected token",
        raw: new Uint8Array([0x00, 0xff, 0x7b, 0xc3]),
        topic: "greatstories.webhooks.v1",
        partition: 3,
        offset: "9007199254740993",
        lastOffset: "9007199254741000",
        key: new Uint8Array([0x00, 0x01]),
        createdAt: at(1),
      });
      const fromOutbox = newDeadLetter({ source: "outbox", reason: "unknown_job", jobId: randomUUID(), event: "job.failed", traceId: "t-1", createdAt: at(2) });
      await context.db.deadLetters.recordDeadLetters([fromKafka, fromOutbox]);
      const listed = await context.db.deadLetters.listDeadLetters({ limit: 10 });
      const unprocessed = { reprocessedAt: null, deliveryId: null };
      expect(listed.map(({ id: _id, ...rest }) => rest)).toEqual([{ ...fromOutbox, ...unprocessed }, { ...fromKafka, ...unprocessed }]);
      expect(Number(listed[0]?.id)).toBeGreaterThan(Number(listed[1]?.id));
      expect(await context.db.deadLetters.listDeadLetters({ limit: 1 })).toHaveLength(1);
    });

    it("lists dead letters filtered by source, reason code and time, in keyset pages", async () => {
      const letters = [
        newDeadLetter({ source: "kafka", reason: "invalid_json: Unexpected token", createdAt: at(1) }),
        newDeadLetter({ source: "outbox", reason: "unknown_job", createdAt: at(2) }),
        newDeadLetter({ source: "kafka", reason: "unknown_job", createdAt: at(3) }),
        newDeadLetter({ source: "api", reason: "job_not_finished: running", createdAt: at(4) }),
      ];
      for (const letter of letters) await context.db.deadLetters.recordDeadLetters([letter]);
      const reasons = (list: readonly DeadLetter[]) => list.map((l) => `${l.source} ${l.reason}`);
      const list = (params: Parameters<typeof context.db.deadLetters.listDeadLetters>[0]) => context.db.deadLetters.listDeadLetters(params);
      expect(reasons(await list({ limit: 10, filter: { source: "kafka" } }))).toEqual(["kafka unknown_job", "kafka invalid_json: Unexpected token"]);
      expect(reasons(await list({ limit: 10, filter: { reasonCode: "unknown_job" } }))).toEqual(["kafka unknown_job", "outbox unknown_job"]);
      expect(reasons(await list({ limit: 10, filter: { reasonCode: "invalid_json" } }))).toEqual(["kafka invalid_json: Unexpected token"]);
      expect(reasons(await list({ limit: 10, filter: { createdAfter: at(2), createdBefore: at(4) } }))).toEqual(["kafka unknown_job", "outbox unknown_job"]);
      const first = await list({ limit: 3 });
      const rest = await list({ limit: 3, beforeId: first[2]!.id });
      expect(reasons([...first, ...rest])).toEqual(reasons([...letters].reverse()));
      expect(await list({ limit: 3, beforeId: "x1" })).toEqual([]);
    });

    it("recording no dead letters does nothing", async () => {
      await context.db.deadLetters.recordDeadLetters([]);
      expect(await context.db.deadLetters.listDeadLetters({ limit: 10 })).toEqual([]);
    });
  });

  describe("jobs", () => {
    it("finding jobs returns each found job by id, with its secret hidden", async () => {
      const withSecret = randomUUID();
      const without = randomUUID();
      await context.subject.insertJob({ id: withSecret, status: "succeeded", finishedAt: at(1), outputMarkup: "<p>hi</p>", webhookUrl: "https://r.example/", webhookSecret: "s3cr3t" });
      await context.subject.insertJob({ id: without, status: "failed", webhookUrl: null, webhookSecret: null });
      const jobs = await context.db.jobs.findJobs([withSecret, without]);
      expect(jobs.size).toBe(2);
      const found = jobs.get(withSecret);
      expect(found).toMatchObject({ id: withSecret, status: "succeeded", finishedAt: at(1), outputMarkup: "<p>hi</p>", webhookUrl: "https://r.example/" });
      expect(found?.webhookSecret?.reveal()).toBe("s3cr3t");
      expect(JSON.stringify(found)).not.toContain("s3cr3t");
      expect(jobs.get(without)).toMatchObject({ status: "failed", webhookUrl: null, webhookSecret: null, errorCode: null });
    });

    it("unknown and malformed job ids are absent from the result", async () => {
      const known = randomUUID();
      await context.subject.insertJob({ id: known });
      const jobs = await context.db.jobs.findJobs([known, randomUUID(), "not-a-uuid", "", "'; drop table jobs; --"]);
      expect([...jobs.keys()]).toEqual([known]);
      expect((await context.db.jobs.findJobs([])).size).toBe(0);
    });

    it("a job whose markup alone is over the payload limit comes back without its body, with the body's size", async () => {
      const big = randomUUID();
      const small = randomUUID();
      await context.subject.insertJob({ id: big, outputMarkup: "é".repeat(600), webhookUrl: "https://r.example/" });
      await context.subject.insertJob({ id: small, outputMarkup: "<p>hi</p>", webhookUrl: "https://r.example/" });
      const jobs = await context.db.jobs.findJobs([big, small], { maxPayloadBytes: 1000, maxTotalBytes: 1_000_000 });
      expect(jobs.get(big)).toMatchObject({ outputMarkup: null, webhookUrl: "https://r.example/", unreadBody: { reason: "too_large", bytes: 1200 } });
      expect(jobs.get(small)).toMatchObject({ outputMarkup: "<p>hi</p>" });
      expect(jobs.get(small)?.unreadBody).toBeUndefined();
    });

    it("bodies past one look-up's byte budget come back unread, in id order, and the first is always read", async () => {
      const ids = [randomUUID(), randomUUID(), randomUUID()].sort();
      for (const id of ids) await context.subject.insertJob({ id, outputMarkup: "m".repeat(400) });
      const jobs = await context.db.jobs.findJobs(ids, { maxPayloadBytes: 1000, maxTotalBytes: 900 });
      expect(ids.map((id) => jobs.get(id)?.unreadBody?.reason ?? "read")).toEqual(["read", "read", "over_budget"]);
      const tiny = await context.db.jobs.findJobs(ids, { maxPayloadBytes: 1000, maxTotalBytes: 1 });
      expect(ids.map((id) => tiny.get(id)?.unreadBody?.reason ?? "read")).toEqual(["read", "over_budget", "over_budget"]);
    });
  });

  describe("health", () => {
    it("ping resolves while the database is open", async () => {
      await expect(context.db.ping()).resolves.toBeUndefined();
    });
  });
}
