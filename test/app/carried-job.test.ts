import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { webCryptoHmacSha256 } from "../../src/adapters/web-crypto-hmac.ts";
import { deliverOne } from "../../src/app/deliver-one.ts";
import { createIntake } from "../../src/app/intake.ts";
import type { Job } from "../../src/domain/job.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import type { ClaimedDelivery } from "../../src/ports/delivery-store.ts";
import type { IncomingEvent } from "../../src/ports/event-source.ts";
import { createSignatureVerifier } from "../../scripts/verify-signatures.ts";
import { bodyLimits, capturingLogger, finishedJob, manualClock, outboxPollerWithoutSlots, response, scriptedSender } from "../support/app-fixtures.ts";
import { spanIdFromUuid } from "../../src/domain/trace-context.ts";

const CARRIED_SECRET = "whsec_Y2FycmllZC1zZWNyZXQtZm9yLXRlc3Rz";
const backoff = { maxAttempts: 3, baseDelayMs: 30_000, maxDelayMs: 3_600_000, jitter: 0 };
const api = { source: "api" } as const;

/** The `job` field an event carries for `job`, in the wire format. */
function carriedJobOf(job: Job, secret: string | null): Record<string, unknown> {
  const body = job.status === "succeeded" ? { output_markup: job.outputMarkup } : { error: { code: job.errorCode, message: job.errorMessage } };
  return { status: job.status, finished_at: job.finishedAt?.toISOString(), ...body, webhook: { url: job.webhookUrl, secret } };
}

/** An intake over a fresh in-memory database with `slots` free, as an input would use it. */
function intakeOver(slots: number) {
  const db = createMemoryDatabase();
  const clock = manualClock();
  const logger = capturingLogger();
  const started: ClaimedDelivery[] = [];
  const intake = createIntake({
    transaction: db.transaction,
    accept: { newId: randomUUID, now: clock.now, logger, bodyLimits },
    slots: { reserve: (max) => Math.min(max, slots), adopt: (_reserved, deliveries) => void started.push(...deliveries), wake: () => {} },
    leaseMs: 60_000,
  });
  const accept = (events: readonly IncomingEvent[]) => intake({ maxEvents: events.length, take: async () => events });
  const deliver = (delivery: ClaimedDelivery, sender: ReturnType<typeof scriptedSender>) =>
    deliverOne({ deliveries: db.deliveries, sender, hmac: webCryptoHmacSha256, clock, random: () => 0.5, backoff, timeoutMs: 5_000, logger, newSpanId: () => spanIdFromUuid(randomUUID()) }, delivery);
  return { db, clock, logger, started, accept, deliver };
}

describe("an event that carries its job", () => {
  it.each([
    ["succeeded", finishedJob()],
    ["failed", finishedJob({ status: "failed", outputMarkup: null, errorCode: "render_timeout", errorMessage: "rendering took too long" })],
  ])("creates the same delivery, with no jobs row, as a %s job read from the jobs table", async (_status, job) => {
    const fromRow = intakeOver(0);
    fromRow.db.putJob(job);
    await fromRow.accept([{ value: { job_id: job.id, event: "job.finished", trace_id: "t" }, origin: api }]);
    const carried = intakeOver(0);
    const summary = await carried.accept([{ value: { job_id: job.id, event: "job.finished", trace_id: "t", job: carriedJobOf(job, CARRIED_SECRET) }, origin: api }]);

    expect(summary).toMatchObject({ created: 1, deadLettered: 0 });
    const [expected] = await fromRow.db.deliveries.listDeliveriesForJob(job.id);
    const [actual] = await carried.db.deliveries.listDeliveriesForJob(job.id);
    expect(new TextDecoder().decode(actual!.payload)).toBe(new TextDecoder().decode(expected!.payload));
    expect(actual).toMatchObject({ url: job.webhookUrl, status: "pending", traceId: "t", event: "job.finished" });
  });

  it("is signed with the carried secret on its first attempt and on every retry, both schemes verifying", async () => {
    const job = finishedJob();
    const { accept, started, db, clock, deliver } = intakeOver(1);
    await accept([{ value: { job_id: job.id, event: "job.succeeded", job: carriedJobOf(job, CARRIED_SECRET) }, origin: api }]);
    const sender = scriptedSender([response(503), response(200)]);
    // Created leased into the free slot: its first attempt needs no claim.
    expect(started).toHaveLength(1);
    await deliver(started[0]!, sender);
    clock.advance(30_000);
    const [retry] = await db.deliveries.claimDueDeliveries({ now: clock.now(), limit: 1, leaseMs: 60_000 });
    expect(await deliver(retry!, sender)).toMatchObject({ next: { kind: "sent" } });

    const verify = createSignatureVerifier(CARRIED_SECRET);
    expect(sender.requests).toHaveLength(2);
    for (const request of sender.requests) {
      expect(verify(request.headers, Buffer.from(request.body))).toEqual({ standardWebhooks: true, hexHmac: true });
    }
  });

  it("is sent unsigned when its webhook has no secret, as a jobs row without one is", async () => {
    const job = finishedJob();
    const { accept, db, clock, deliver } = intakeOver(0);
    await accept([{ value: { job_id: job.id, event: "job.succeeded", job: carriedJobOf(job, null) }, origin: api }]);
    const [claimed] = await db.deliveries.claimDueDeliveries({ now: clock.now(), limit: 1, leaseMs: 60_000 });
    const sender = scriptedSender([response(200)]);
    await deliver(claimed!, sender);
    expect(Object.keys(sender.requests[0]!.headers).filter((name) => name.includes("signature"))).toEqual([]);
  });

  it("creates one delivery for the same (job_id, event), with or without its job, from any input", async () => {
    const job = finishedJob();
    const { accept, db } = intakeOver(0);
    db.putJob(job);
    const withJob = { job_id: job.id, event: "job.succeeded", job: carriedJobOf(job, CARRIED_SECRET) };
    const first = await accept([
      { value: withJob, origin: api },
      { value: new TextEncoder().encode(JSON.stringify(withJob)), origin: { source: "kafka", topic: "t", partition: 0, offset: "1", key: null } },
    ]);
    const second = await accept([{ value: { job_id: job.id, event: "job.succeeded" }, origin: { source: "outbox", outboxId: "1" } }]);
    expect(first).toMatchObject({ created: 1, duplicates: 1 });
    expect(second).toMatchObject({ created: 0, duplicates: 1 });
    expect(await db.deliveries.listDeliveriesForJob(job.id)).toHaveLength(1);
  });

  it("dead-letters an event whose job is invalid with the reason, and skips one whose job has no webhook", async () => {
    const job = finishedJob();
    const { accept, db, logger } = intakeOver(0);
    const summary = await accept([
      { value: { job_id: job.id, event: "job.succeeded", job: { ...carriedJobOf(job, CARRIED_SECRET), finished_at: "later" } }, origin: api },
      { value: { job_id: randomUUID(), event: "job.succeeded", job: { ...carriedJobOf(job, null), webhook: null } }, origin: api },
    ]);
    expect(summary).toMatchObject({ created: 0, skipped: 1, deadLettered: 1 });
    const [letter] = await db.deadLetters.listDeadLetters({ limit: 10 });
    expect(letter?.reason).toBe("invalid_field: job.finished_at must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z");
    expect(logger.lines.join("\n")).not.toContain(CARRIED_SECRET);
  });

  it("fails at once with payload_too_large when the carried job's webhook body is over WEBHOOK_MAX_PAYLOAD, sending nothing", async () => {
    const job = finishedJob({ outputMarkup: "x".repeat(2_000) });
    const db = createMemoryDatabase();
    const deps = { newId: randomUUID, now: () => new Date(), logger: capturingLogger(), bodyLimits: { maxPayloadBytes: 1_024, maxTotalBytes: 1_000_000 } };
    const poller = outboxPollerWithoutSlots(deps, db.transaction, { batchSize: 10, pollIntervalMs: 1_000, onDeliveriesCreated: () => {} });
    await db.outbox.appendEvent({ jobId: job.id, event: "job.succeeded", traceId: null, job: carriedJobOf(job, CARRIED_SECRET), now: new Date() });
    expect(await poller.pollOnce()).toMatchObject({ processed: 1, created: 1 });
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(delivery).toMatchObject({ status: "failed", attempts: 0, lastError: expect.stringMatching(/^payload_too_large: \d+ bytes \(max 1024\)$/) });
  });

  it("keeps the secret out of what the delivery shows", async () => {
    const job = finishedJob({ webhookSecret: makeSecret(CARRIED_SECRET) });
    const { accept, db } = intakeOver(0);
    await accept([{ value: { job_id: job.id, event: "job.succeeded", job: carriedJobOf(job, CARRIED_SECRET) }, origin: api }]);
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(JSON.stringify({ ...delivery, payload: new TextDecoder().decode(delivery!.payload) })).not.toContain("Y2FycmllZC1zZWNyZXQ");
  });
});
