import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { acceptEventGroups, acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { bodyLimits, outboxPollerWithoutSlots, capturingLogger, finishedJob } from "../support/app-fixtures.ts";

const deps = { newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits };

const api = { source: "api" } as const;

describe("accept events", () => {
  it("creates one delivery per (job_id, event), however often the pair arrives in a batch or across batches", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    const event = { value: { job_id: job.id, event: "job.succeeded" }, origin: api };
    const first = await db.transaction((tx) => acceptEvents(deps, tx, [event, event]));
    const second = await db.transaction((tx) => acceptEvents(deps, tx, [event]));
    expect(first).toEqual({ created: 1, duplicates: 1, skipped: 0, deadLettered: 0, rejected: 0, leased: [] });
    expect(second).toEqual({ created: 0, duplicates: 1, skipped: 0, deadLettered: 0, rejected: 0, leased: [] });
    expect(await db.deliveries.listDeliveriesForJob(job.id)).toHaveLength(1);
  });

  it("accepts several batches with one look-up and one insert, and counts each batch's events in that batch's result", async () => {
    const db = createMemoryDatabase();
    const [first, second, noUrl] = [finishedJob(), finishedJob(), finishedJob({ webhookUrl: null })];
    for (const job of [first, second, noUrl]) db.putJob(job);
    const eventOf = (jobId: string) => ({ value: { job_id: jobId, event: "job.succeeded" }, origin: api });
    const lookups: number[] = [];
    const inserts: number[] = [];
    const results = await db.transaction((tx) => {
      const counted = {
        ...tx,
        jobs: { findJobs: (ids: readonly string[], limits: typeof bodyLimits) => (lookups.push(ids.length), tx.jobs.findJobs(ids, limits)) },
        deliveries: { ...tx.deliveries, createDeliveries: (rows: Parameters<typeof tx.deliveries.createDeliveries>[0]) => (inserts.push(rows.length), tx.deliveries.createDeliveries(rows)) },
      };
      return acceptEventGroups(deps, counted, [[eventOf(first.id)], [eventOf(second.id), eventOf(first.id), eventOf(noUrl.id)], [{ value: "not json", origin: api }]], { count: 1, leaseMs: 60_000 });
    });
    expect(lookups).toEqual([3]);
    expect(inserts).toEqual([2]);
    expect(results.map(({ leased, ...counts }) => ({ ...counts, leased: leased.map((d) => d.jobId) }))).toEqual([
      { created: 1, duplicates: 0, skipped: 0, deadLettered: 0, rejected: 0, leased: [first.id] },
      { created: 1, duplicates: 1, skipped: 1, deadLettered: 0, rejected: 0, leased: [] },
      { created: 0, duplicates: 0, skipped: 0, deadLettered: 1, rejected: 0, leased: [] },
    ]);
  });

  it("skips a job without a webhook URL and logs it", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob({ webhookUrl: null });
    db.putJob(job);
    const logger = capturingLogger();
    const summary = await db.transaction((tx) => acceptEvents({ ...deps, logger }, tx, [{ value: { job_id: job.id, event: "job.succeeded" }, origin: api }]));
    expect(summary).toMatchObject({ created: 0, skipped: 1 });
    expect(logger.lines.some((l) => l.includes("no webhook URL") && l.includes(job.id))).toBe(true);
  });

  it("dead-letters malformed events and events of unknown jobs with their reasons and raw bytes, and still accepts the good ones", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    const unknown = randomUUID();
    const raw = new Uint8Array([0xff, 0xfe, 0x00]);
    const summary = await db.transaction((tx) =>
      acceptEvents(deps, tx, [
        { value: raw, origin: { source: "kafka", topic: "t", partition: 2, offset: "17", key: null } },
        { value: { job_id: unknown, event: "job.succeeded" }, origin: api },
        { value: { job_id: job.id, event: "job.succeeded" }, origin: api },
      ]),
    );
    expect(summary).toEqual({ created: 1, duplicates: 0, skipped: 0, deadLettered: 2, rejected: 0, leased: [] });
    const letters = await db.deadLetters.listDeadLetters({ limit: 10 });
    const byReason = Object.fromEntries(letters.map((l) => [l.reason, l]));
    expect(byReason.invalid_utf8).toMatchObject({ source: "kafka", topic: "t", partition: 2, offset: "17" });
    expect([...byReason.invalid_utf8!.raw!]).toEqual([...raw]);
    expect(byReason.unknown_job).toMatchObject({ source: "api", jobId: unknown, event: "job.succeeded" });
  });

  it("turns outbox rows into deliveries, marks them processed in the same transaction, and wakes the scheduler", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    await db.outbox.appendEvent({ jobId: job.id, event: "job.succeeded", traceId: "t", now: systemClock.now() });
    let woken = 0;
    const poller = outboxPollerWithoutSlots(deps, db.transaction, { batchSize: 10, pollIntervalMs: 1_000, onDeliveriesCreated: () => woken++ });
    expect(await poller.pollOnce()).toMatchObject({ processed: 1, created: 1 });
    expect(await poller.pollOnce()).toMatchObject({ processed: 0, created: 0 });
    expect(woken).toBe(1);
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(delivery).toMatchObject({ event: "job.succeeded", traceId: "t", status: "pending", attempts: 0 });
  });

  it("leaves outbox rows unprocessed when creating their deliveries fails, so nothing is lost", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    await db.outbox.appendEvent({ jobId: job.id, event: "job.succeeded", traceId: null, now: systemClock.now() });
    const failing = {
      ...deps,
      transaction: <T,>(work: Parameters<typeof db.transaction>[0]) =>
        db.transaction(async (tx) => work({ ...tx, deliveries: { ...tx.deliveries, createDeliveries: () => Promise.reject(new Error("disk full")) } }) as Promise<T>),
    };
    const poller = outboxPollerWithoutSlots(deps, failing.transaction, { batchSize: 10, pollIntervalMs: 1_000, onDeliveriesCreated: () => {} });
    await expect(poller.pollOnce()).rejects.toThrow("disk full");
    const healthy = outboxPollerWithoutSlots(deps, db.transaction, { batchSize: 10, pollIntervalMs: 1_000, onDeliveriesCreated: () => {} });
    expect(await healthy.pollOnce()).toMatchObject({ processed: 1, created: 1 });
  });
});

describe("accept events, URL rules", () => {
  it("stores a delivery whose webhook URL can never be sent to as failed with reason invalid_url, without any attempt", async () => {
    const db = createMemoryDatabase();
    const logger = capturingLogger();
    const jobs = ["ftp://receiver.example/hook", "http://user:pass@receiver.example/hook", "not a url"].map((webhookUrl) => finishedJob({ webhookUrl }));
    jobs.forEach((job) => db.putJob(job));
    const accept = () => db.transaction((tx) => acceptEvents({ ...deps, logger }, tx, jobs.map((job) => ({ value: { job_id: job.id, event: "job.succeeded" }, origin: api }))));
    expect((await accept()).rejected).toBe(3);
    // A repeat creates nothing, so it rejects nothing either: each failed delivery is counted once.
    expect((await accept()).rejected).toBe(0);
    for (const job of jobs) {
      const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
      expect(delivery).toMatchObject({ status: "failed", attempts: 0, nextAttemptAt: null, lastError: expect.stringMatching(/^invalid_url: /) });
    }
    expect(logger.lines.join("\n")).not.toContain("user:pass");
    expect(await db.deliveries.nextDueAt()).toBeNull();
  });

  it("stores the URL normalised by the WHATWG URL parser", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob({ webhookUrl: "HTTPS://Receiver.Example:443/a/../hook" });
    db.putJob(job);
    await db.transaction((tx) => acceptEvents(deps, tx, [{ value: { job_id: job.id, event: "job.succeeded" }, origin: api }]));
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(delivery?.url).toBe("https://receiver.example/hook");
  });
});

describe("accept events, created leased", () => {
  it("creates the first `count` deliverable events leased, ready to attempt with the job's secret, and leaves the rest due", async () => {
    const db = createMemoryDatabase();
    const invalid = finishedJob({ webhookUrl: "ftp://receiver.example/hook" });
    const jobs = [invalid, finishedJob(), finishedJob({ webhookSecret: null }), finishedJob()];
    jobs.forEach((job) => db.putJob(job));
    const result = await db.transaction((tx) =>
      acceptEvents(deps, tx, jobs.map((job) => ({ value: { job_id: job.id, event: "job.succeeded", trace_id: "t" }, origin: api })), { count: 2, leaseMs: 60_000 }),
    );
    expect(result.created).toBe(4);
    expect(result.leased.map((d) => d.jobId)).toEqual([jobs[1]!.id, jobs[2]!.id]);
    const [withSecret, withoutSecret] = result.leased;
    expect(withSecret?.secrets?.map((s) => s.reveal())).toEqual([jobs[1]!.webhookSecret!.reveal()]);
    expect(withoutSecret?.secrets).toEqual([]);
    expect(withSecret).toMatchObject({ status: "pending", attempts: 0, url: "https://receiver.example/hook", traceId: "t" });
    expect(withSecret!.leaseExpiresAt.getTime() - withSecret!.createdAt.getTime()).toBe(60_000);
    // The leased ones are not claimable; the fourth is due now; the invalid one failed at once.
    const claimed = await db.deliveries.claimDueDeliveries({ now: new Date(), limit: 10, leaseMs: 60_000 });
    expect(claimed.map((d) => d.jobId)).toEqual([jobs[3]!.id]);
    // The lease a delivery was created with completes it.
    const attempt = { deliveryId: withSecret!.id, attemptNumber: 1, startedAt: new Date(), durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" } as const;
    expect(await db.deliveries.completeAttempt({ deliveryId: withSecret!.id, leaseToken: withSecret!.leaseToken, attempt, next: { kind: "sent" } })).toBe(true);
  });

  it("gives no lease to an event whose delivery already exists", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    const event = { value: { job_id: job.id, event: "job.succeeded" }, origin: api };
    await db.transaction((tx) => acceptEvents(deps, tx, [event]));
    const again = await db.transaction((tx) => acceptEvents(deps, tx, [event], { count: 5, leaseMs: 60_000 }));
    expect(again).toMatchObject({ created: 0, duplicates: 1, leased: [] });
  });
});
