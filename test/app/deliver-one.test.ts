import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { webCryptoHmacSha256 } from "../../src/adapters/web-crypto-hmac.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { deliverOne } from "../../src/app/deliver-one.ts";
import type { Job } from "../../src/domain/job.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import type { SendResult } from "../../src/domain/send-result.ts";
import { bodyLimits, capturingLogger, finishedJob, manualClock, recordingMetrics, response, scriptedSender, SECRET } from "../support/app-fixtures.ts";
import { spanIdFromUuid } from "../../src/domain/trace-context.ts";

const backoff = { maxAttempts: 3, baseDelayMs: 30_000, maxDelayMs: 3_600_000, jitter: 0 };
const LEASE_MS = 60_000;

async function setup(job: Job, results: readonly SendResult[], traceId = "t-1") {
  const db = createMemoryDatabase();
  const clock = manualClock();
  const logger = capturingLogger();
  const sender = scriptedSender(results);
  db.putJob(job);
  await db.transaction((tx) =>
    acceptEvents({ newId: randomUUID, now: clock.now, logger, bodyLimits }, tx, [
      { value: { job_id: job.id, event: "job.succeeded", trace_id: traceId }, origin: { source: "api" } },
    ]),
  );
  const deps = { deliveries: db.deliveries, sender, hmac: webCryptoHmacSha256, clock, random: () => 0.5, backoff, timeoutMs: 5_000, logger, newSpanId: () => spanIdFromUuid(randomUUID()) };
  const claim = async () => {
    const [claimed] = await db.deliveries.claimDueDeliveries({ now: clock.now(), limit: 1, leaseMs: LEASE_MS });
    return claimed!;
  };
  const stored = async () => (await db.deliveries.listDeliveriesForJob(job.id))[0]!;
  return { db, clock, logger, sender, deps, claim, stored };
}

describe("deliver one", () => {
  it("sends a traceparent with the event's W3C trace id and a new span id on every attempt", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const { clock, sender, deps, claim } = await setup(finishedJob(), [response(500), response(200)], traceId);
    await deliverOne(deps, await claim());
    clock.advance(30_000);
    await deliverOne(deps, await claim());
    const parents = sender.requests.map((request) => request.headers["traceparent"]);
    for (const parent of parents) expect(parent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(new Set(parents.map((parent) => parent!.split("-")[2])).size).toBe(2);
    expect(sender.requests.every((request) => request.headers["tracestate"] === undefined)).toBe(true);
  });

  it.each(["t-1", "4BF92F3577B34DA6A3CE929D0E0E4736", "00000000000000000000000000000000"])(
    "sends no traceparent when the trace id %s is not a W3C trace id",
    async (traceId) => {
      const { sender, deps, claim } = await setup(finishedJob(), [response(200)], traceId);
      await deliverOne(deps, await claim());
      expect(sender.requests[0]!.headers["traceparent"]).toBeUndefined();
    },
  );

  it("signs and sends the stored payload, and records a 2xx as sent after one attempt", async () => {
    const job = finishedJob();
    const { sender, deps, claim, stored, db } = await setup(job, [response(204)]);
    const result = await deliverOne(deps, await claim());
    expect(result).toEqual({ next: { kind: "sent" }, recorded: true });
    const [request] = sender.requests;
    const body = new TextDecoder().decode(request!.body);
    expect(JSON.parse(body)).toMatchObject({ job_id: job.id, status: "succeeded" });
    expect(() => new Webhook(SECRET).verify(body, request!.headers)).not.toThrow();
    const delivery = await stored();
    expect(delivery).toMatchObject({ status: "sent", attempts: 1, nextAttemptAt: null });
    const found = await db.deliveries.getDelivery(delivery.id);
    expect(found?.attempts.map((a) => [a.attemptNumber, a.statusCode, a.outcome])).toEqual([[1, 204, "sent"]]);
  });

  it("gives a delivery re-driven by an operator a fresh budget: the full number of attempts again, the delays from the base again", async () => {
    const { clock, deps, claim, stored, db } = await setup(finishedJob(), [response(500)]);
    for (const wait of [0, 30_000, 60_000]) {
      clock.advance(wait);
      await deliverOne(deps, await claim());
    }
    expect(await stored()).toMatchObject({ status: "failed", attempts: 3 });
    await db.deliveries.redriveDelivery({ id: (await stored()).id, now: clock.now(), resend: false });
    const fourth = await deliverOne(deps, await claim());
    expect(fourth.next).toEqual({ kind: "retry", at: new Date(clock.now().getTime() + 30_000), error: "HTTP 500" });
    clock.advance(30_000);
    await deliverOne(deps, await claim());
    clock.advance(60_000);
    const last = await deliverOne(deps, await claim());
    expect(last.next).toEqual({ kind: "failed", error: "gave up after 3 attempts: HTTP 500" });
    expect(await stored()).toMatchObject({ status: "failed", attempts: 6, attemptBudgetStart: 3 });
  });

  it("schedules the next attempt one base delay later after a 500, then gives up after the last attempt", async () => {
    const { clock, deps, claim, stored } = await setup(finishedJob(), [response(500)]);
    const first = await deliverOne(deps, await claim());
    expect(first.next).toEqual({ kind: "retry", at: new Date(clock.now().getTime() + 30_000), error: "HTTP 500" });
    clock.advance(30_000);
    await deliverOne(deps, await claim());
    clock.advance(60_000);
    const last = await deliverOne(deps, await claim());
    expect(last.next).toEqual({ kind: "failed", error: "gave up after 3 attempts: HTTP 500" });
    expect(await stored()).toMatchObject({ status: "failed", attempts: 3, nextAttemptAt: null });
  });

  it("sends the same webhook-id and the same body bytes on every attempt", async () => {
    const { clock, sender, deps, claim } = await setup(finishedJob(), [response(503), response(200)]);
    await deliverOne(deps, await claim());
    clock.advance(30_000);
    await deliverOne(deps, await claim());
    const [a, b] = sender.requests;
    expect(a!.headers["webhook-id"]).toBe(b!.headers["webhook-id"]);
    expect(Buffer.from(a!.body).equals(Buffer.from(b!.body))).toBe(true);
    expect(a!.headers["webhook-timestamp"]).not.toBe(b!.headers["webhook-timestamp"]);
  });

  it("fails at once without sending when the job row no longer exists", async () => {
    const job = finishedJob();
    const { db, sender, deps, claim, stored } = await setup(job, [response(200)]);
    db.deleteJob(job.id);
    const result = await deliverOne(deps, await claim());
    expect(result.next.kind).toBe("failed");
    expect(sender.requests).toHaveLength(0);
    const found = await db.deliveries.getDelivery((await stored()).id);
    expect(found?.attempts[0]).toMatchObject({ errorKind: "job_missing", outcome: "failed" });
  });

  it("fails at once without sending when the secret contains whitespace, and never logs or records the secret", async () => {
    const badSecret = "s3cr3t with-space";
    const { db, sender, deps, claim, stored, logger } = await setup(finishedJob({ webhookSecret: makeSecret(badSecret) }), [response(200)]);
    const result = await deliverOne(deps, await claim());
    expect(result.next).toMatchObject({ kind: "failed", error: expect.stringContaining("invalid_secret") });
    expect(sender.requests).toHaveLength(0);
    const found = await db.deliveries.getDelivery((await stored()).id);
    expect(JSON.stringify(found)).not.toContain("s3cr3t");
    expect(logger.lines.join("\n")).not.toContain("s3cr3t");
  });

  it("checks the URL again at send time: a stored delivery whose URL is not http or https fails at once without sending", async () => {
    const job = finishedJob();
    const { db, sender, deps, clock } = await setup(job, [response(200)]);
    // A row stored before the acceptance-time check existed, or by another writer.
    const id = randomUUID();
    await db.deliveries.createDeliveries([
      { id, webhookId: `msg_${id.replaceAll("-", "")}`, jobId: job.id, event: "job.other", url: "ftp://receiver.example/hook", payload: new Uint8Array([123, 125]), traceId: null, createdAt: clock.now(), rejection: null },
    ]);
    const claimed = await db.deliveries.claimDueDeliveries({ now: clock.now(), limit: 10, leaseMs: LEASE_MS });
    const results = await Promise.all(claimed.map((c) => deliverOne(deps, c)));
    const ftp = results[claimed.findIndex((c) => c.id === id)];
    expect(ftp?.next).toMatchObject({ kind: "failed", error: expect.stringMatching(/^invalid_url/) });
    expect(sender.requests.map((r) => r.url)).toEqual(["https://receiver.example/hook"]);
  });

  it("keeps the first 4 KiB of the response body on the attempt", async () => {
    const big = new TextEncoder().encode("x".repeat(10_000));
    const { db, deps, claim, stored } = await setup(finishedJob(), [response(500, { bodySnippet: big, bodyTruncated: true })]);
    await deliverOne(deps, await claim());
    const found = await db.deliveries.getDelivery((await stored()).id);
    expect(found?.attempts[0]?.responseBody).toBe("x".repeat(4096));
  });

  it("changes nothing when a stale lease-holder completes after its lease expired and another worker claimed the delivery", async () => {
    const { db, clock, deps, claim, stored } = await setup(finishedJob(), [response(200)]);
    const stale = await claim();
    clock.advance(LEASE_MS + 1);
    const current = await claim();
    expect(current.leaseToken).not.toBe(stale.leaseToken);

    const staleResult = await deliverOne(deps, stale);
    expect(staleResult.recorded).toBe(false);
    const afterStale = await stored();
    expect(afterStale).toMatchObject({ status: "pending", attempts: 0 });
    expect((await db.deliveries.getDelivery(afterStale.id))?.attempts).toHaveLength(0);

    const currentResult = await deliverOne(deps, current);
    expect(currentResult.recorded).toBe(true);
    expect(await stored()).toMatchObject({ status: "sent", attempts: 1 });
  });
});

describe("deliver one, when the database fails", () => {
  it("retries writing the attempt after a database error instead of sending again", async () => {
    const { db, sender, deps, claim, stored } = await setup(finishedJob(), [response(200)]);
    let failures = 2;
    const flaky = {
      ...db.deliveries,
      completeAttempt: (params: Parameters<typeof db.deliveries.completeAttempt>[0]) =>
        failures-- > 0 ? Promise.reject(new Error("connection terminated")) : db.deliveries.completeAttempt(params),
    };
    const result = await deliverOne({ ...deps, deliveries: flaky }, await claim());
    expect(result.recorded).toBe(true);
    expect(sender.requests).toHaveLength(1);
    expect(await stored()).toMatchObject({ status: "sent", attempts: 1 });
  });

  it("gives up writing the attempt once the lease has run out, leaving the delivery to be claimed again", async () => {
    const { db, clock, deps, claim } = await setup(finishedJob(), [response(200)]);
    const claimed = await claim();
    clock.advance(LEASE_MS);
    const broken = { ...db.deliveries, completeAttempt: () => Promise.reject(new Error("connection terminated")) };
    await expect(deliverOne({ ...deps, deliveries: broken }, claimed)).rejects.toThrow("connection terminated");
  });
});

describe("deliver one, counted", () => {
  it("reports each recorded attempt, and the delivery once it is sent: its attempts and its latency since acceptance", async () => {
    const metrics = recordingMetrics();
    const { clock, deps, claim } = await setup(finishedJob(), [response(503, { durationMs: 40 }), response(200, { durationMs: 12 })]);
    await deliverOne({ ...deps, metrics }, await claim());
    clock.advance(30_000);
    await deliverOne({ ...deps, metrics }, await claim());
    expect(metrics.reports).toEqual([
      ["attemptRecorded", { outcome: "retry", statusClass: "5xx", durationSeconds: 0.04 }],
      ["attemptRecorded", { outcome: "sent", statusClass: "2xx", durationSeconds: 0.012 }],
      ["deliveryEnded", { outcome: "sent" }, { attempts: 2, latencySeconds: 30 }],
    ]);
  });

  it("reports a failed delivery with the class of its last attempt: a 410 as http_4xx, a job gone as not_sent", async () => {
    const gone = recordingMetrics();
    const refused = await setup(finishedJob(), [response(410)]);
    await deliverOne({ ...refused.deps, metrics: gone }, await refused.claim());
    expect(gone.reports.at(-1)).toEqual(["deliveryEnded", { outcome: "failed", reason: "http_4xx" }, { attempts: 1, latencySeconds: 0 }]);

    const missing = recordingMetrics();
    const job = finishedJob();
    const orphan = await setup(job, [response(200)]);
    orphan.db.deleteJob(job.id);
    await deliverOne({ ...orphan.deps, metrics: missing }, await orphan.claim());
    expect(missing.reports).toEqual([
      ["attemptRecorded", { outcome: "failed", statusClass: "none", durationSeconds: 0 }],
      ["deliveryEnded", { outcome: "failed", reason: "not_sent" }, { attempts: 1, latencySeconds: 0 }],
    ]);
  });

  it("reports nothing for an attempt whose lease was lost: the worker that holds it now reports its own", async () => {
    const metrics = recordingMetrics();
    const { clock, deps, claim } = await setup(finishedJob(), [response(200)]);
    const stale = await claim();
    clock.advance(LEASE_MS + 1);
    await claim();
    expect((await deliverOne({ ...deps, metrics }, stale)).recorded).toBe(false);
    expect(metrics.reports).toEqual([]);
  });
});
