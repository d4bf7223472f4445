import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, capturingLogger, finishedJob, SECRET } from "../support/app-fixtures.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };

function setup(options: { adminToken?: string | null; pingFails?: boolean; sourceDown?: boolean } = {}) {
  const db = createMemoryDatabase();
  const logger = capturingLogger();
  let appended = 0;
  const app = createAdminApi({ ...operatorParts(db),
    db: options.pingFails ? { ...db, ping: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432")) } : db,
    adminToken: options.adminToken === undefined ? TOKEN : options.adminToken,
    clock: systemClock,
    logger,
    sources: () => [{ name: "outbox", ready: !options.sourceDown, ...(options.sourceDown ? { reason: "outbox: connection lost" } : {}) }],
    onEventAppended: () => appended++,
  });
  const request = (path: string, init: RequestInit = {}) => app.request(path, init);
  return { db, app, request, logger, appended: () => appended };
}

async function withDelivery(db: ReturnType<typeof createMemoryDatabase>) {
  const job = finishedJob();
  db.putJob(job);
  await db.transaction((tx) =>
    acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx, [
      { value: { job_id: job.id, event: "job.succeeded", trace_id: "t-9" }, origin: { source: "api" } },
    ]),
  );
  const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
  return { job, delivery: delivery! };
}

describe("admin API", () => {
  it("answers /healthz without a token", async () => {
    const { request } = setup();
    const response = await request("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz 200 when the database answers", async () => {
    expect((await setup().request("/readyz")).status).toBe(200);
  });

  it("answers /readyz 503 with the reason when the database is unreachable", async () => {
    const response = await setup({ pingFails: true }).request("/readyz");
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: "not_ready", reasons: ["database: connect ECONNREFUSED 127.0.0.1:5432"] });
  });

  it("answers /readyz 503 with the reason when an input is not ready", async () => {
    const response = await setup({ sourceDown: true }).request("/readyz");
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ reasons: ["outbox: connection lost"] });
  });

  it.each([
    ["no Authorization header", {}, 401],
    ["a wrong token", { authorization: "Bearer wrong-token-0123456789" }, 401],
    ["a malformed header", { authorization: "Basic abc" }, 400],
  ])("refuses /v1 with %s", async (_name, headers, status) => {
    const response = await setup().request(`/v1/deliveries/${randomUUID()}`, { headers });
    expect(response.status).toBe(status);
    expect(await response.json()).toHaveProperty("error");
  });

  it("refuses every /v1 call when ADMIN_TOKEN is not set", async () => {
    const response = await setup({ adminToken: null }).request(`/v1/jobs/${randomUUID()}/deliveries`, { headers: auth });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ message: expect.stringContaining("ADMIN_TOKEN is not set") });
  });

  it("puts a valid event on the outbox, answers 202 and wakes the poller", async () => {
    const { db, request, appended } = setup();
    const jobId = randomUUID();
    const response = await request("/v1/events", {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ job_id: jobId, event: "job.succeeded", trace_id: "abc" }),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ job_id: jobId, event: "job.succeeded", trace_id: "abc" });
    expect(appended()).toBe(1);
    const pending = await db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
    expect(pending).toMatchObject([{ jobId, event: "job.succeeded", traceId: "abc" }]);
  });

  it.each([
    ["not JSON", "{nope", "invalid_json"],
    ["a JSON array", "[1]", "invalid_event"],
    ["a job_id that is not a UUID", JSON.stringify({ job_id: "42", event: "job.succeeded" }), "invalid_event"],
    ["no event", JSON.stringify({ job_id: randomUUID() }), "invalid_event"],
  ])("answers 400 with a reason for a body that is %s", async (_name, body, error) => {
    const { request, appended } = setup();
    const response = await request("/v1/events", { method: "POST", headers: auth, body });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: string; message: string };
    expect(json.error).toBe(error);
    expect(json.message.length).toBeGreaterThan(0);
    expect(appended()).toBe(0);
  });

  it("answers 413 for a request body over 64 KiB", async () => {
    const body = JSON.stringify({ job_id: randomUUID(), event: "job.succeeded", trace_id: "x".repeat(70_000) });
    const response = await setup().request("/v1/events", { method: "POST", headers: auth, body });
    expect(response.status).toBe(413);
  });

  it("shows a delivery with its attempts, and never the webhook secret", async () => {
    const { db, request } = setup();
    const { job, delivery } = await withDelivery(db);
    const response = await request(`/v1/deliveries/${delivery.id}`, { headers: auth });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(SECRET.slice(6));
    const json = JSON.parse(text);
    expect(json.delivery).toMatchObject({ id: delivery.id, job_id: job.id, status: "pending", attempts: 0, trace_id: "t-9", webhook_id: delivery.webhookId });
    expect(json.delivery.payload).toMatchObject({ job_id: job.id, status: "succeeded" });
    expect(json.attempts).toEqual([]);
  });

  it("answers 404 for an unknown or malformed delivery id", async () => {
    const { request } = setup();
    expect((await request(`/v1/deliveries/${randomUUID()}`, { headers: auth })).status).toBe(404);
    expect((await request("/v1/deliveries/not-a-uuid", { headers: auth })).status).toBe(404);
  });

  it("lists the deliveries of a job, and answers 400 for a malformed job id", async () => {
    const { db, request } = setup();
    const { job, delivery } = await withDelivery(db);
    const response = await request(`/v1/jobs/${job.id}/deliveries`, { headers: auth });
    expect(await response.json()).toMatchObject({ job_id: job.id, deliveries: [{ id: delivery.id }] });
    expect((await request("/v1/jobs/42/deliveries", { headers: auth })).status).toBe(400);
  });

  it("answers 500 with a generic message and logs the cause when the database fails mid-request", async () => {
    const { db, logger } = setup();
    const broken = createAdminApi({ ...operatorParts(db),
      db: { ...db, deliveries: { ...db.deliveries, listDeliveriesForJob: () => Promise.reject(new Error("relation does not exist")) } },
      adminToken: TOKEN,
      clock: systemClock,
      logger,
      sources: () => [],
      onEventAppended: () => {},
    });
    const response = await broken.request(`/v1/jobs/${randomUUID()}/deliveries`, { headers: auth });
    expect(response.status).toBe(500);
    expect(await response.text()).not.toContain("relation");
    expect(logger.lines.some((line) => line.includes("relation does not exist"))).toBe(true);
  });
});

describe("admin API under malformed requests", () => {
  it("answers every malformed request with a 4xx and a reason, never a 5xx", async () => {
    const { default: fc } = await import("fast-check");
    const { app, db } = setup();
    await withDelivery(db);
    const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH");
    const segment = fc.oneof(fc.constantFrom("v1", "events", "deliveries", "jobs", "healthz", "readyz", randomUUID(), "%zz", "..", ""), fc.string());
    const path = fc.array(segment, { maxLength: 5 }).map((parts) => "/" + parts.map((p) => encodeURIComponent(p)).join("/"));
    const body = fc.oneof(fc.constant(undefined), fc.string(), fc.json(), fc.constant('{"job_id":'), fc.constant("\u0000\uffff"));
    const authorization = fc.constantFrom(undefined, `Bearer ${TOKEN}`, "Bearer", "Bearer wrong", "Basic x", `bearer ${TOKEN}`, "");
    await fc.assert(
      fc.asyncProperty(method, path, body, authorization, async (m, p, b, auth) => {
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (auth !== undefined) headers.authorization = auth;
        const response = await app.request(p, { method: m, headers, body: m === "GET" || m === "DELETE" ? undefined : b });
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) expect(await response.json()).toHaveProperty("error");
      }),
      { numRuns: 300 },
    );
  });
});
