import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase, type MemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents, type AcceptResult } from "../../src/app/accept-events.ts";
import { acceptIsolatingRefusals } from "../../src/app/isolate-refusals.ts";
import type { IncomingEvent } from "../../src/ports/event-source.ts";
import type { JobReader } from "../../src/ports/job-reader.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { DataRefusedError, type Repositories } from "../../src/ports/transactor.ts";
import { bodyLimits, outboxPollerWithoutSlots, finishedJob } from "../support/app-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

const deps = { newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits };

const api = { source: "api" } as const;
const eventOf = (jobId: string, traceId: string | null = null): IncomingEvent => ({
  value: { job_id: jobId, event: "job.succeeded", trace_id: traceId },
  origin: api,
});

/** A transaction whose delivery insert the database refuses (like a CHECK constraint) when a row has trace id "refuse-me". */
function refusingTransaction(db: MemoryDatabase) {
  return <T,>(work: (tx: Repositories) => Promise<T>) =>
    db.transaction((tx) =>
      work({
        ...tx,
        deliveries: {
          ...tx.deliveries,
          createDeliveries: (rows) =>
            rows.some((r) => r.traceId === "refuse-me")
              ? Promise.reject(Object.assign(new Error("new row violates check constraint"), { code: "23514" }))
              : tx.deliveries.createDeliveries(rows),
        },
      }),
    );
}

describe("payload limit", () => {
  it("records a job whose body is over the limit as a failed delivery with payload_too_large, keeping no body", async () => {
    const db = createMemoryDatabase();
    const big = finishedJob({ outputMarkup: "x".repeat(2048) });
    const small = finishedJob();
    db.putJob(big);
    db.putJob(small);
    const limited = { ...deps, bodyLimits: { maxPayloadBytes: 1024, maxTotalBytes: 1024 * 1024 } };
    const summary = await db.transaction((tx) => acceptEvents(limited, tx, [eventOf(big.id), eventOf(small.id)]));
    expect(summary).toMatchObject({ created: 2, deadLettered: 0 });
    const [rejected] = await db.deliveries.listDeliveriesForJob(big.id);
    expect(rejected).toMatchObject({ status: "failed", attempts: 0, nextAttemptAt: null, lastError: expect.stringMatching(/^payload_too_large: /) });
    expect(rejected!.payload.byteLength).toBe(0);
    const [fine] = await db.deliveries.listDeliveriesForJob(small.id);
    expect(fine).toMatchObject({ status: "pending" });
  });

  it("never leases a rejected delivery to the caller: nothing is sent for it", async () => {
    const db = createMemoryDatabase();
    const big = finishedJob({ outputMarkup: "x".repeat(2048) });
    db.putJob(big);
    const limited = { ...deps, bodyLimits: { maxPayloadBytes: 1024, maxTotalBytes: 1024 * 1024 } };
    const result = await db.transaction((tx) => acceptEvents(limited, tx, [eventOf(big.id)], { count: 5, leaseMs: 60_000 }));
    expect(result.leased).toEqual([]);
  });
});

describe("intake byte budget", () => {
  it("reads jobs in turns when their bodies exceed one look-up's budget, and creates every delivery", async () => {
    const db = createMemoryDatabase();
    const jobs = Array.from({ length: 10 }, () => finishedJob({ outputMarkup: "m".repeat(400) }));
    jobs.forEach((job) => db.putJob(job));
    const lookups: number[] = [];
    const budget = { ...deps, bodyLimits: { maxPayloadBytes: 1024, maxTotalBytes: 1000 } };
    const summary = await db.transaction((tx) => {
      const counting: JobReader = {
        findJobs: async (ids, limits) => {
          const found = await tx.jobs.findJobs(ids, limits);
          lookups.push([...found.values()].filter((job) => job.unreadBody === undefined).length);
          return found;
        },
      };
      return acceptEvents(budget, { ...tx, jobs: counting }, jobs.map((job) => eventOf(job.id)));
    });
    expect(summary).toMatchObject({ created: 10, duplicates: 0, deadLettered: 0 });
    // 400 bytes each, 1,000 per look-up: two bodies at a time.
    expect(lookups).toEqual([2, 2, 2, 2, 2]);
  });

  it("always reads at least one job, even one larger than the whole budget", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob({ outputMarkup: "m".repeat(900) });
    db.putJob(job);
    const budget = { ...deps, bodyLimits: { maxPayloadBytes: 1024, maxTotalBytes: 10 } };
    expect(await db.transaction((tx) => acceptEvents(budget, tx, [eventOf(job.id)]))).toMatchObject({ created: 1 });
  });
});

describe("refused batches", () => {
  it("halves a refused batch until the refused event is alone, dead-letters it with the reason, and accepts the rest", async () => {
    const db = createMemoryDatabase();
    const jobs = Array.from({ length: 20 }, () => finishedJob());
    jobs.forEach((job) => db.putJob(job));
    const events = jobs.map((job, i) => eventOf(job.id, i === 13 ? "refuse-me" : null));
    const transaction = refusingTransaction(db);
    const accept = (batch: readonly IncomingEvent[]): Promise<AcceptResult> => transaction((tx) => acceptEvents(deps, tx, batch));
    const summary = await acceptIsolatingRefusals({ transaction: db.transaction, now: systemClock.now, logger: noopLogger }, events, accept);
    expect(summary).toMatchObject({ created: 19, deadLettered: 1 });
    const letters = await db.deadLetters.listDeadLetters({ limit: 10 });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ source: "api", jobId: jobs[13]!.id, reason: expect.stringMatching(/^refused_by_database: 23514 /) });
    expect(new TextDecoder().decode(letters[0]!.raw!)).toContain("refuse-me");
    expect(await db.deliveries.listDeliveriesForJob(jobs[13]!.id)).toEqual([]);
  });

  it("lets an outage through unchanged: the batch is retried whole, nothing is dead-lettered", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob();
    db.putJob(job);
    const outage = () => Promise.reject(Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" }));
    await expect(acceptIsolatingRefusals({ transaction: db.transaction, now: systemClock.now, logger: noopLogger }, [eventOf(job.id)], outage)).rejects.toThrow(
      "connection refused",
    );
    expect(await db.deadLetters.listDeadLetters({ limit: 10 })).toEqual([]);
  });

  it("turns a data exception inside a transaction into a DataRefusedError, and a lost connection into nothing of the kind", async () => {
    const db = createMemoryDatabase();
    await expect(db.transaction(() => Promise.reject(Object.assign(new Error("invalid byte sequence"), { code: "22021" })))).rejects.toBeInstanceOf(DataRefusedError);
    await expect(db.transaction(() => Promise.reject(new RangeError("Invalid string length")))).rejects.toBeInstanceOf(DataRefusedError);
    await expect(db.transaction(() => Promise.reject(Object.assign(new Error("terminating connection"), { code: "57P01" })))).rejects.not.toBeInstanceOf(DataRefusedError);
  });

  it("finds the outbox row the database refuses by taking fewer rows, dead-letters it, marks it processed and delivers the others", async () => {
    const db = createMemoryDatabase();
    const jobs = Array.from({ length: 12 }, () => finishedJob());
    jobs.forEach((job) => db.putJob(job));
    for (const [i, job] of jobs.entries()) {
      await db.outbox.appendEvent({ jobId: job.id, event: "job.succeeded", traceId: i === 7 ? "refuse-me" : null, now: systemClock.now() });
    }
    const poller = outboxPollerWithoutSlots(deps, refusingTransaction(db), { batchSize: 10, pollIntervalMs: 60_000, onDeliveriesCreated: () => {} });
    const controller = new AbortController();
    const running = poller.run(controller.signal);
    await waitFor("the refused row dead-lettered and the outbox drained", async () =>
      (await db.deadLetters.listDeadLetters({ limit: 10 })).length === 1 && (await pendingOutboxRows(db)) === 0,
    );
    controller.abort();
    poller.wake();
    await running;
    const letters = await db.deadLetters.listDeadLetters({ limit: 10 });
    expect(letters).toEqual([expect.objectContaining({ source: "outbox", jobId: jobs[7]!.id, reason: expect.stringMatching(/^refused_by_database: 23514 /) })]);
    for (const [i, job] of jobs.entries()) expect(await db.deliveries.listDeliveriesForJob(job.id)).toHaveLength(i === 7 ? 0 : 1);
  });
});

async function pendingOutboxRows(db: MemoryDatabase): Promise<number> {
  return (await db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 1000 }))).length;
}
