import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { newDelivery } from "../support/contract-subject.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };
const WINDOW = { created_after: "2029-12-31T00:00:00Z", created_before: "2030-01-02T00:00:00Z" };

async function setup(failed = 3) {
  const db = createMemoryDatabase();
  const parts = operatorParts(db);
  const app = createAdminApi({ ...parts, db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  await db.deliveries.createDeliveries(Array.from({ length: failed }, () => newDelivery({ rejection: "connection_refused", url: "https://a.example/hook" })));
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = auth) => {
    const response = await app.request(path, { method, headers, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { db, parts, call };
}

describe("admin API, bulk replays", () => {
  it("a dry run counts the matching deliveries and creates nothing", async () => {
    const { call, parts } = await setup();
    expect(await call("POST", "/v1/replays", { ...WINDOW, dry_run: true })).toEqual({ status: 200, body: { dry_run: true, matched: 3 } });
    expect(await call("POST", "/v1/replays", { ...WINDOW, dry_run: true, origin: "https://b.example" })).toMatchObject({ body: { matched: 0 } });
    expect(parts.calls.replaysCreated).toBe(0);
  });

  it("a replay is accepted with its id and count, starts at once, and shows its progress", async () => {
    const { call, parts, db } = await setup();
    const created = await call("POST", "/v1/replays", { ...WINDOW, status: "failed", event: "job.succeeded" });
    expect(created).toMatchObject({ status: 202, body: { matched: 3, replay: { status: "running", redriven: 0, filter: { status: "failed", event: "job.succeeded", origin: null } } } });
    expect(parts.calls.replaysCreated).toBe(1);
    const id = created.body.replay_id as string;
    await db.transaction((tx) => tx.replays.advanceReplay({ now: new Date(), batchSize: 1_000, maxDue: 1_000 }));
    expect(await call("GET", `/v1/replays/${id}`)).toMatchObject({ status: 200, body: { replay: { id, status: "completed", redriven: 3, skipped: 0 } } });
    const [delivery] = await db.deliveries.listDeliveries({ filter: {}, limit: 1 });
    const shown = await call("GET", `/v1/deliveries/${delivery!.id}`);
    expect(shown.body.actions).toEqual([{ action: "replay", result: "redriven", created_at: expect.any(String), replay_id: id }]);
  });

  it("a running replay can be cancelled once; then it is not running", async () => {
    const { call } = await setup();
    const id = (await call("POST", "/v1/replays", WINDOW)).body.replay_id as string;
    expect(await call("POST", `/v1/replays/${id}/cancel`)).toMatchObject({ status: 200, body: { replay: { status: "cancelled" } } });
    expect(await call("POST", `/v1/replays/${id}/cancel`)).toMatchObject({ status: 409, body: { error: "not_running" } });
  });

  it("an unknown or malformed replay id is 404", async () => {
    const { call } = await setup();
    for (const path of [`/v1/replays/${randomUUID()}`, "/v1/replays/nope"]) expect((await call("GET", path)).status).toBe(404);
    expect((await call("POST", `/v1/replays/${randomUUID()}/cancel`)).status).toBe(404);
  });

  it.each([
    ["created_after", { created_before: WINDOW.created_before }],
    ["created_before", { created_after: WINDOW.created_after }],
    ["created_after", { ...WINDOW, created_after: "yesterday" }],
    ["created_before", { ...WINDOW, created_before: WINDOW.created_after }],
    ["status", { ...WINDOW, status: "lost" }],
    ["origin", { ...WINDOW, origin: "https://a.example/path" }],
    ["event", { ...WINDOW, event: "" }],
    ["job_ids", { ...WINDOW, job_ids: ["not-a-uuid"] }],
    ["job_ids", { ...WINDOW, job_ids: [] }],
    ["dry_run", { ...WINDOW, dry_run: "yes" }],
    ["colour", { ...WINDOW, colour: "blue" }],
    ["body", [WINDOW]],
  ])("a replay request with a bad %s is a 400 naming it", async (field, body) => {
    const { call } = await setup();
    const answer = await call("POST", "/v1/replays", body);
    expect(answer).toEqual({ status: 400, body: { error: "invalid_body", message: expect.stringMatching(new RegExp(`^${field}: `)) } });
  });

  it("a body that is not JSON is a 400, and the replay routes need the token", async () => {
    const { call } = await setup();
    expect(await call("POST", "/v1/replays", "{")).toMatchObject({ status: 400, body: { error: "invalid_json" } });
    expect((await call("POST", "/v1/replays", WINDOW, {})).status).toBe(401);
    expect((await call("GET", `/v1/replays/${randomUUID()}`, undefined, {})).status).toBe(401);
  });
});
