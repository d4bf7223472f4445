import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { uuidV7 } from "../../src/adapters/uuid-v7.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import type { NewDelivery } from "../../src/ports/delivery-store.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { newDelivery } from "../support/contract-subject.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };

function setup() {
  const db = createMemoryDatabase();
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const get = async (path: string) => {
    const response = await app.request(path, { headers: auth });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { db, app, get };
}

/** A delivery row as intake would create it; ids are time-ordered like the dispatcher's. */
function delivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  const id = uuidV7();
  return newDelivery({ id, webhookId: `msg_${id.replaceAll("-", "")}`, url: "https://receiver.example/hook", ...overrides });
}

type Page = { data: { id: string; status: string; url: string; event: string }[]; next_cursor: string | null };

describe("admin API, listing deliveries", () => {
  it("lists deliveries newest first with the filters applied, in pages of `limit` with a cursor to the next", async () => {
    const { db, get } = setup();
    const rows = Array.from({ length: 5 }, (_, i) => delivery({ url: i % 2 === 0 ? "https://a.example/hook" : "https://b.example:8443/hook" }));
    await db.deliveries.createDeliveries(rows);
    // Newest first by id: uuid v7 ids order by their millisecond, and at random within one.
    const newestFirst = rows.map((r) => r.id).sort().reverse();
    const first = await get("/v1/deliveries?limit=2");
    expect(first.status).toBe(200);
    const page1 = first.body as unknown as Page;
    expect(page1.data.map((d) => d.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.next_cursor).toEqual(expect.any(String));
    const page2 = (await get(`/v1/deliveries?limit=2&cursor=${page1.next_cursor}`)).body as unknown as Page;
    expect(page2.data.map((d) => d.id)).toEqual(newestFirst.slice(2, 4));
    const page3 = (await get(`/v1/deliveries?limit=2&cursor=${page2.next_cursor}`)).body as unknown as Page;
    expect(page3.data.map((d) => d.id)).toEqual(newestFirst.slice(4));
    expect(page3.next_cursor).toBeNull();
    const byOrigin = (await get("/v1/deliveries?origin=HTTPS://B.example:8443&status=pending")).body as unknown as Page;
    expect(byOrigin.data.map((d) => d.id)).toEqual([rows[3]!.id, rows[1]!.id].sort().reverse());
    const byJob = (await get(`/v1/deliveries?job_id=${rows[2]!.jobId}`)).body as unknown as Page;
    expect(byJob.data.map((d) => d.id)).toEqual([rows[2]!.id]);
  });

  it("pages through 1,050 deliveries while new ones are inserted, returning each existing one exactly once", async () => {
    const { db, get } = setup();
    const existing = Array.from({ length: 1_050 }, () => delivery());
    await db.deliveries.createDeliveries(existing);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = (await get(`/v1/deliveries?limit=200${cursor === null ? "" : `&cursor=${cursor}`}`)).body as unknown as Page;
      seen.push(...page.data.map((d) => d.id));
      cursor = page.next_cursor;
      await db.deliveries.createDeliveries([delivery(), delivery()]);
    } while (cursor !== null);
    expect(seen).toHaveLength(1_050);
    expect(new Set(seen)).toEqual(new Set(existing.map((d) => d.id)));
  });

  it("filters by creation time: created_after is inclusive, created_before exclusive", async () => {
    const { db, get } = setup();
    const rows = [1, 2, 3].map((day) => delivery({ createdAt: new Date(`2030-01-0${day}T00:00:00Z`) }));
    await db.deliveries.createDeliveries(rows);
    const page = (await get("/v1/deliveries?created_after=2030-01-02T00:00:00Z&created_before=2030-01-03T00:00:00%2B00:00")).body as unknown as Page;
    expect(page.data.map((d) => d.id)).toEqual([rows[1]!.id]);
  });

  it.each([
    ["status=lost", "status"],
    ["job_id=42", "job_id"],
    ["event=", "event"],
    ["origin=https://a.example/hook", "origin"],
    ["origin=a.example", "origin"],
    ["created_after=yesterday", "created_after"],
    ["created_before=2030-13-01T00:00:00Z", "created_before"],
    ["limit=0", "limit"],
    ["limit=201", "limit"],
    ["limit=ten", "limit"],
    ["cursor=not-a-cursor!", "cursor"],
    [`cursor=${btoa("d1:nope")}`, "cursor"],
    ["stauts=failed", "stauts"],
    ["status=sent&status=failed", "status"],
  ])("answers 400 naming the parameter for %s", async (query, parameter) => {
    const { get } = setup();
    const { status, body } = await get(`/v1/deliveries?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: "invalid_parameter", message: expect.stringMatching(new RegExp(`^${parameter}: `)) });
  });

  it("answers 401 without the token", async () => {
    const { app } = setup();
    expect((await app.request("/v1/deliveries")).status).toBe(401);
  });
});
