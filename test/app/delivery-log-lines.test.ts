import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { webCryptoHmacSha256 } from "../../src/adapters/web-crypto-hmac.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { deliverOne, type DeliverOneDeps } from "../../src/app/deliver-one.ts";
import { createScheduler } from "../../src/app/scheduler.ts";
import type { Job } from "../../src/domain/job.ts";
import type { SendResult } from "../../src/domain/send-result.ts";
import { spanIdFromUuid } from "../../src/domain/trace-context.ts";
import type { ClaimedDelivery } from "../../src/ports/delivery-store.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, capturingLogger, finishedJob, manualClock, response, scriptedSender } from "../support/app-fixtures.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const LEASE_MS = 60_000;
const backoff = { maxAttempts: 2, baseDelayMs: 30_000, maxDelayMs: 3_600_000, jitter: 0 };

/** One job's delivery on the memory database, and deliverOne's dependencies with a logger that keeps every line. */
async function setup(job: Job, results: readonly SendResult[]) {
  const db = createMemoryDatabase();
  const clock = manualClock();
  db.putJob(job);
  await db.transaction((tx) =>
    acceptEvents({ newId: randomUUID, now: clock.now, logger: noopLogger, bodyLimits }, tx, [
      { value: { job_id: job.id, event: "job.succeeded", trace_id: TRACE_ID }, origin: { source: "api" } },
    ]),
  );
  const logger = capturingLogger();
  const deps: DeliverOneDeps = {
    deliveries: db.deliveries,
    sender: scriptedSender(results),
    hmac: webCryptoHmacSha256,
    clock,
    random: () => 0.5,
    backoff,
    timeoutMs: 5_000,
    logger: logger.child({ component: "delivery" }),
    newSpanId: () => spanIdFromUuid(randomUUID()),
  };
  const claim = async (): Promise<ClaimedDelivery> => (await db.deliveries.claimDueDeliveries({ now: clock.now(), limit: 1, leaseMs: LEASE_MS }))[0]!;
  return { db, clock, logger, deps, claim };
}

const parsed = (lines: readonly string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

/** What every line about the attempt number `attempt` of the delivery `delivery` must carry. */
const naming = (delivery: Pick<ClaimedDelivery, "id" | "jobId">, attempt: number) => ({ job_id: delivery.jobId, delivery_id: delivery.id, trace_id: TRACE_ID, attempt });

describe("delivery log lines", () => {
  it("every log line about a delivery carries its job_id, delivery_id, trace_id and attempt: sent, retried, then failed", async () => {
    const job = finishedJob();
    const { clock, logger, deps, claim } = await setup(job, [response(500), response(200)]);
    const first = await claim();
    await deliverOne(deps, first);
    clock.advance(30_000);
    const second = await claim();
    await deliverOne(deps, second);
    expect(parsed(logger.lines)).toEqual([
      expect.objectContaining({ msg: "delivery will be retried", ...naming(first, 1), status_code: 500, outcome: "retry" }),
      expect.objectContaining({ msg: "delivery sent", ...naming(second, 2), status_code: 200, outcome: "sent" }),
    ]);
    expect(first.jobId).toBe(job.id);
  });

  it("every log line about a delivery carries its job_id, delivery_id, trace_id and attempt: failed after its last attempt", async () => {
    const { clock, logger, deps, claim } = await setup(finishedJob(), [response(503)]);
    const first = await claim();
    await deliverOne(deps, first);
    clock.advance(30_000);
    const last = await claim();
    await deliverOne(deps, last);
    expect(parsed(logger.lines)).toEqual([
      expect.objectContaining({ msg: "delivery will be retried", ...naming(first, 1) }),
      expect.objectContaining({ msg: "delivery failed", ...naming(last, 2), level: "warn", outcome: "failed" }),
    ]);
  });

  it("every log line about a delivery carries its job_id, delivery_id, trace_id and attempt: lease lost to another worker", async () => {
    const { clock, logger, deps, claim } = await setup(finishedJob(), [response(200)]);
    const stale = await claim();
    clock.advance(LEASE_MS + 1);
    await claim();
    const result = await deliverOne(deps, stale);
    expect(result.recorded).toBe(false);
    expect(parsed(logger.lines)).toEqual([expect.objectContaining({ msg: "attempt not recorded: its lease was given back or lost to another worker", ...naming(stale, 1) })]);
  });

  it("every log line about a delivery carries its job_id, delivery_id, trace_id and attempt: the attempt's write retried after a database error", async () => {
    const { db, logger, deps, claim } = await setup(finishedJob(), [response(200)]);
    let failures = 1;
    const flaky = {
      ...db.deliveries,
      completeAttempt: (params: Parameters<typeof db.deliveries.completeAttempt>[0]) =>
        failures-- > 0 ? Promise.reject(new Error("connection terminated")) : db.deliveries.completeAttempt(params),
    };
    const claimed = await claim();
    await deliverOne({ ...deps, deliveries: flaky }, claimed);
    expect(parsed(logger.lines)).toEqual([
      expect.objectContaining({ msg: "could not record the attempt; retrying", ...naming(claimed, 1), error: "connection terminated" }),
      expect.objectContaining({ msg: "delivery sent", ...naming(claimed, 1) }),
    ]);
  });

  it("names the delivery and its attempt when the scheduler could not record an attempt", async () => {
    const job = finishedJob();
    const { db, logger } = await setup(job, [response(200)]);
    const scheduler = createScheduler({
      deliveries: db.deliveries,
      deliver: () => Promise.reject(new Error("connection terminated")),
      clock: { now: () => new Date() },
      logger,
      concurrency: 1,
      leaseMs: LEASE_MS,
      pollIntervalMs: 60_000,
    });
    expect(await scheduler.runOnce()).toBe(1);
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(parsed(logger.lines)).toEqual([
      expect.objectContaining({ msg: "attempt could not be recorded; it will be retried when its lease expires", ...naming(delivery!, 1), level: "error" }),
    ]);
  });

  it("names the delivery, with no attempt made, when a delivery fails at once", async () => {
    const db = createMemoryDatabase();
    const job = finishedJob({ webhookUrl: "ftp://receiver.example/hook" });
    db.putJob(job);
    const logger = capturingLogger();
    const event = { value: { job_id: job.id, event: "job.succeeded", trace_id: TRACE_ID }, origin: { source: "api" } as const };
    await db.transaction((tx) => acceptEvents({ newId: randomUUID, now: () => new Date(), logger, bodyLimits }, tx, [event]));
    // The same event again creates no delivery, so it logs no line naming one.
    await db.transaction((tx) => acceptEvents({ newId: randomUUID, now: () => new Date(), logger, bodyLimits }, tx, [event]));
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(parsed(logger.lines)).toEqual([
      expect.objectContaining({
        msg: "delivery failed at once: it can never be sent",
        job_id: job.id,
        delivery_id: delivery!.id,
        trace_id: TRACE_ID,
        attempt: 0,
        reason: expect.stringMatching(/^invalid_url/),
      }),
    ]);
  });
});
