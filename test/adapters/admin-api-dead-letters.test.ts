import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { newDeadLetter } from "../support/contract-subject.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";

function setup() {
  const db = createMemoryDatabase();
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const get = async (path: string) => {
    const response = await app.request(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { db, app, get };
}


type Page = { data: { id: string; source: string; reason: string; raw_base64: string | null; offset: string | null }[]; next_cursor: string | null };

describe("admin API, listing dead letters", () => {
  it("lists dead letters newest first, filtered by source and reason code, in pages with a cursor, raw bytes in base64", async () => {
    const { db, get } = setup();
    await db.deadLetters.recordDeadLetters([newDeadLetter({ source: "kafka", reason: "invalid_json: Unexpected token", raw: new Uint8Array([0x00, 0xff]), topic: "t", partition: 1, offset: "7" })]);
    await db.deadLetters.recordDeadLetters([newDeadLetter({ source: "outbox" })]);
    await db.deadLetters.recordDeadLetters([newDeadLetter({ source: "api" })]);
    const first = (await get("/v1/dead-letters?limit=2")).body as unknown as Page;
    expect(first.data.map((l) => l.source)).toEqual(["api", "outbox"]);
    const second = (await get(`/v1/dead-letters?limit=2&cursor=${first.next_cursor}`)).body as unknown as Page;
    expect(second).toEqual({ data: [expect.objectContaining({ source: "kafka", reason: "invalid_json: Unexpected token", raw_base64: "AP8=", offset: "7" })], next_cursor: null });
    expect(((await get("/v1/dead-letters?reason=unknown_job&source=outbox")).body as unknown as Page).data.map((l) => l.source)).toEqual(["outbox"]);
    expect(((await get("/v1/dead-letters?reason=invalid_json")).body as unknown as Page).data).toHaveLength(1);
  });

  it.each([
    ["source=email", "source"],
    ["reason=Unknown Job", "reason"],
    ["created_after=soon", "created_after"],
    ["limit=500", "limit"],
    [`cursor=${btoa("d1:12")}`, "cursor"],
    ["sorce=kafka", "sorce"],
  ])("answers 400 naming the parameter for %s", async (query, parameter) => {
    const { get } = setup();
    const { status, body } = await get(`/v1/dead-letters?${query}`);
    expect(status).toBe(400);
    expect(body).toEqual({ error: "invalid_parameter", message: expect.stringMatching(new RegExp(`^${parameter}: `)) });
  });

  it("answers 401 without the token", async () => {
    const { app } = setup();
    expect((await app.request("/v1/dead-letters")).status).toBe(401);
  });
});
