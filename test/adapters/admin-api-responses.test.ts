import { randomUUID } from "node:crypto";
import type { OpenAPIHono, RouteConfig } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import type { ZodType } from "zod";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, finishedJob } from "../support/app-fixtures.ts";
import { attemptRecord, newDeadLetter } from "../support/contract-subject.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };

/** The route declaration that serves `method path`, found by matching its `{param}` template. */
function declarationOf(app: OpenAPIHono, method: string, path: string): RouteConfig {
  const routes = app.openAPIRegistry.definitions.flatMap((d) => (d.type === "route" ? [d.route] : []));
  const found = routes.find(
    (route) => route.method === method.toLowerCase() && new RegExp(`^${route.path.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
  );
  if (found === undefined) throw new Error(`no declaration for ${method} ${path}`);
  return found;
}

async function setup() {
  const db = createMemoryDatabase();
  let failing = false;
  const deliveries = { ...db.deliveries, listDeliveriesForJob: (id: string) => (failing ? Promise.reject(new Error("down")) : db.deliveries.listDeliveriesForJob(id)) };
  const app = createAdminApi({ ...operatorParts(db), db: { ...db, deliveries }, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const answers: { method: string; path: string; status: number }[] = [];
  /** Sends the request and checks its answer against the schema its route declares for that status. */
  const call = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const response = await app.request(path, { method, headers: init.headers ?? auth, ...(init.body === undefined ? {} : { body: init.body }) });
    const declared = declarationOf(app, method, new URL(path, "http://x").pathname).responses[response.status];
    expect(declared, `${method} ${path} answered ${response.status}, which its route does not declare`).toBeDefined();
    const schema = (declared as { content?: Record<string, { schema: ZodType }> }).content?.["application/json"]?.schema;
    const body: unknown = await response.json();
    const checked = schema!.safeParse(body);
    expect(checked.error?.issues ?? [], `${method} ${path} ${response.status}: ${JSON.stringify(body).slice(0, 300)}`).toEqual([]);
    answers.push({ method, path, status: response.status });
    return body as Record<string, unknown>;
  };
  const job = finishedJob();
  db.putJob(job);
  await db.transaction((tx) =>
    acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx, [
      { value: { job_id: job.id, event: "job.failed", trace_id: "t-1" }, origin: { source: "api" } },
    ]),
  );
  const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
  const [claimed] = await db.deliveries.claimDueDeliveries({ now: new Date(Date.now() + 1_000), limit: 1, leaseMs: 60_000 });
  const attempt = attemptRecord(claimed!.id, { attemptNumber: 1, statusCode: 500, responseBody: "oops" });
  await db.deliveries.completeAttempt({ deliveryId: claimed!.id, leaseToken: claimed!.leaseToken, attempt, next: { kind: "failed", error: "HTTP 500" } });
  await db.deadLetters.recordDeadLetters([newDeadLetter({ source: "kafka", reason: "invalid_json: x", raw: new Uint8Array([1]), topic: "t", partition: 0, offset: "3" })]);
  return { call, answers, job, id: delivery!.id, fail: () => (failing = true) };
}

describe("admin API, answers against their declared schemas", () => {
  it("answers each route's success and refusals in the shape (and with a status) its declaration gives", async () => {
    const { call, answers, job, id, fail } = await setup();
    const event = JSON.stringify({ job_id: randomUUID(), event: "job.succeeded" });
    await call("GET", "/healthz", { headers: {} });
    await call("GET", "/readyz", { headers: {} });
    await call("POST", "/v1/events", { body: event });
    await call("POST", "/v1/events", { body: `[${event}, {"job_id": "42"}]` });
    await call("POST", "/v1/events", { body: '[{"job_id": "42"}]' });
    await call("POST", "/v1/events", { body: "[]" });
    await call("POST", "/v1/events", { body: "{nope" });
    await call("POST", "/v1/events", { body: JSON.stringify({ job_id: randomUUID(), event: "e", trace_id: "x".repeat(70_000) }) });
    await call("POST", "/v1/events", { body: event, headers: {} });
    await call("POST", "/v1/events", { body: event, headers: { authorization: "Basic x" } });
    expect(await call("GET", "/v1/deliveries?limit=1")).toMatchObject({ data: [{ id }] });
    await call("GET", "/v1/deliveries?limit=0");
    expect(await call("GET", `/v1/deliveries/${id}`)).toMatchObject({ attempts: [{ status_code: 500 }] });
    await call("GET", `/v1/deliveries/${randomUUID()}`);
    await call("GET", "/v1/deliveries/not-a-uuid");
    await call("POST", `/v1/deliveries/${id}/retry`, { body: '{"force": true}' });
    expect(await call("POST", `/v1/deliveries/${id}/retry`)).toMatchObject({ result: "redriven" });
    expect(await call("POST", `/v1/deliveries/${id}/cancel`)).toMatchObject({ result: "cancelled" });
    await call("POST", `/v1/deliveries/${id}/cancel`);
    await call("POST", "/v1/deliveries/nope/cancel");
    expect(await call("GET", `/v1/deliveries/${id}`)).toMatchObject({ actions: [{ action: "retry" }, { action: "cancel" }, { action: "cancel" }] });
    await call("GET", `/v1/jobs/${job.id}/deliveries`);
    await call("GET", "/v1/jobs/42/deliveries");
    expect(await call("GET", "/v1/dead-letters?source=kafka")).toMatchObject({ data: [{ raw_base64: "AQ==" }] });
    await call("GET", "/v1/dead-letters?sorce=kafka");
    const window = { created_after: "2000-01-01T00:00:00Z", created_before: "2100-01-01T00:00:00Z" };
    expect(await call("POST", "/v1/replays", { body: JSON.stringify({ ...window, dry_run: true }) })).toEqual({ dry_run: true, matched: 1 });
    const replay = await call("POST", "/v1/replays", { body: JSON.stringify({ ...window, status: "failed", job_ids: [job.id] }) });
    await call("POST", "/v1/replays", { body: JSON.stringify({ created_after: window.created_after }) });
    await call("POST", "/v1/replays", { body: "{" });
    expect(await call("GET", `/v1/replays/${replay.replay_id}`)).toMatchObject({ replay: { status: "running" } });
    await call("GET", `/v1/replays/${randomUUID()}`);
    await call("POST", `/v1/replays/${replay.replay_id}/cancel`);
    await call("POST", `/v1/replays/${replay.replay_id}/cancel`);
    await call("POST", "/v1/replays/nope/cancel");
    const [letter] = (await call("GET", "/v1/dead-letters")).data as { id: string }[];
    await call("POST", `/v1/dead-letters/${letter!.id}/reprocess`);
    await call("POST", "/v1/dead-letters/424242/reprocess");
    expect(await call("POST", "/v1/dead-letters/reprocess?source=kafka")).toMatchObject({ reprocessed: 0, refused: 1 });
    await call("POST", "/v1/dead-letters/reprocess?reprocessed=true");
    fail();
    await call("GET", `/v1/jobs/${job.id}/deliveries`);
    expect(answers.map((a) => a.status).sort()).toEqual(expect.arrayContaining([200, 202, 400, 401, 404, 409, 413, 500]));
  });
});
