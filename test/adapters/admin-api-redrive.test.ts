import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger, type Logger } from "../../src/ports/logger.ts";
import { attemptRecord } from "../support/contract-subject.ts";
import { bodyLimits, capturingLogger, finishedJob } from "../support/app-fixtures.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };

async function setup(logger: Logger = noopLogger) {
  const db = createMemoryDatabase();
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger, sources: () => [], onEventAppended: () => {} });
  const job = finishedJob();
  db.putJob(job);
  await db.transaction((tx) =>
    acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx, [
      { value: { job_id: job.id, event: "job.succeeded", trace_id: "trace-of-the-event" }, origin: { source: "api" } },
    ]),
  );
  const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
  const post = async (path: string, body?: string) => {
    const response = await app.request(path, { method: "POST", headers: auth, ...(body === undefined ? {} : { body }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const show = async () => (await (await app.request(`/v1/deliveries/${delivery!.id}`, { headers: auth })).json()) as Record<string, unknown>;
  /** Claims the delivery and records one attempt that ends it as `next`. */
  const attempt = async (next: { kind: "sent" } | { kind: "failed"; error: string }) => {
    const [claimed] = await db.deliveries.claimDueDeliveries({ now: new Date(Date.now() + 1_000), limit: 1, leaseMs: 60_000 });
    const attemptNumber = claimed!.attempts + 1;
    await db.deliveries.completeAttempt({ deliveryId: claimed!.id, leaseToken: claimed!.leaseToken, attempt: attemptRecord(claimed!.id, { attemptNumber }), next });
  };
  return { db, app, id: delivery!.id, jobId: job.id, post, show, attempt };
}

describe("admin API, re-driving a delivery", () => {
  it("logs an operator's retry and cancel with the delivery's job_id, delivery_id, trace_id and the attempts made", async () => {
    const logger = capturingLogger();
    const { id, jobId, post, attempt } = await setup(logger);
    await attempt({ kind: "failed", error: "HTTP 500" });
    await post(`/v1/deliveries/${id}/retry`);
    await post(`/v1/deliveries/${id}/cancel`);
    const named = { job_id: jobId, delivery_id: id, trace_id: "trace-of-the-event", attempt: 1 };
    expect(logger.lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ msg: "operator retry", ...named, result: "redriven" }),
      expect.objectContaining({ msg: "operator cancel", ...named, result: "cancelled" }),
    ]);
  });

  it("retries a failed delivery: pending, due now, a fresh attempt budget, and the action shown beside the attempts", async () => {
    const { id, post, show, attempt } = await setup();
    await attempt({ kind: "failed", error: "HTTP 500" });
    const retried = await post(`/v1/deliveries/${id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ result: "redriven", delivery: { id, status: "pending", attempts: 1, attempt_budget_start: 1 } });
    const shown = await show();
    expect(shown.actions).toEqual([{ action: "retry", result: "redriven", created_at: expect.any(String) }]);
    expect(shown.attempts).toHaveLength(1);
  });

  it("answers 409 for a sent delivery unless the body asks to resend it, and records both", async () => {
    const { id, post, show, attempt } = await setup();
    await attempt({ kind: "sent" });
    const refused = await post(`/v1/deliveries/${id}/retry`, "{}");
    expect(refused).toEqual({ status: 409, body: { error: "already_sent", message: expect.stringContaining('{"resend": true}') } });
    const resent = await post(`/v1/deliveries/${id}/retry`, JSON.stringify({ resend: true }));
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ delivery: { status: "pending", attempt_budget_start: 1 } });
    expect((await show()).actions).toEqual([
      { action: "retry", result: "already_sent", created_at: expect.any(String) },
      { action: "resend", result: "redriven", created_at: expect.any(String) },
    ]);
  });

  it("answers 409 while an attempt holds the lease, and leaves the delivery to it", async () => {
    const { db, id, post } = await setup();
    await db.deliveries.claimDueDeliveries({ now: new Date(Date.now() + 1_000), limit: 1, leaseMs: 60_000 });
    expect(await post(`/v1/deliveries/${id}/retry`)).toEqual({ status: 409, body: { error: "in_flight", message: expect.any(String) } });
  });

  it("cancels a pending delivery as failed/cancelled; a second cancel is a 409", async () => {
    const { id, post, show } = await setup();
    const cancelled = await post(`/v1/deliveries/${id}/cancel`);
    expect(cancelled).toEqual({ status: 200, body: { result: "cancelled", delivery: expect.objectContaining({ status: "failed", last_error: "cancelled" }) } });
    expect((await post(`/v1/deliveries/${id}/cancel`)).body).toMatchObject({ error: "not_pending" });
    expect((await show()).actions).toEqual([
      { action: "cancel", result: "cancelled", created_at: expect.any(String) },
      { action: "cancel", result: "not_pending", created_at: expect.any(String) },
    ]);
  });

  it.each([
    ["not json", "invalid_body"],
    ["[]", "invalid_body"],
    ['{"resend": "yes"}', "invalid_body"],
    ['{"resend": true, "force": true}', "invalid_body"],
  ])("answers 400 for the retry body %s", async (body, error) => {
    const { id, post } = await setup();
    expect(await post(`/v1/deliveries/${id}/retry`, body)).toEqual({ status: 400, body: { error, message: expect.any(String) } });
  });

  it("answers 404 for an unknown or malformed id, and 401 without the token", async () => {
    const { app, post } = await setup();
    for (const path of [`/v1/deliveries/${randomUUID()}/retry`, "/v1/deliveries/nope/retry", `/v1/deliveries/${randomUUID()}/cancel`, "/v1/deliveries/nope/cancel"]) {
      expect((await post(path)).status).toBe(404);
    }
    expect((await app.request(`/v1/deliveries/${randomUUID()}/retry`, { method: "POST" })).status).toBe(401);
  });
});
