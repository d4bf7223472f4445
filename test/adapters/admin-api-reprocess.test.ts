import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import type { IncomingEvent } from "../../src/ports/event-source.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, finishedJob } from "../support/app-fixtures.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const auth = { authorization: `Bearer ${TOKEN}` };
const utf8 = new TextEncoder();

async function setup() {
  const db = createMemoryDatabase();
  const parts = operatorParts(db);
  const app = createAdminApi({ ...parts, db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const call = async (method: string, path: string) => {
    const response = await app.request(path, { method, headers: auth });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Feeds events through the intake; those that cannot become deliveries are dead-lettered. Returns the new letters' ids, oldest first. */
  const deadLetter = async (...events: IncomingEvent[]) => {
    await db.transaction((tx) => acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx, events));
    return (await db.deadLetters.listDeadLetters({ limit: 1_000 })).map((l) => l.id).reverse();
  };
  const fromApi = (jobId: string, event = "job.succeeded"): IncomingEvent => ({ value: { job_id: jobId, event }, origin: { source: "api" } });
  const letterCount = async () => (await db.deadLetters.listDeadLetters({ limit: 1_000 })).length;
  return { db, parts, call, deadLetter, fromApi, letterCount };
}

describe("admin API, reprocessing dead letters", () => {
  it("a letter whose job now exists becomes a delivery, is marked reprocessed, and cannot be reprocessed twice", async () => {
    const { db, parts, call, deadLetter, fromApi } = await setup();
    const job = finishedJob();
    const [id] = await deadLetter(fromApi(job.id));
    expect(await call("POST", `/v1/dead-letters/${id}/reprocess`)).toEqual({ status: 409, body: { error: "unknown_job", message: "unknown_job" } });
    db.putJob(job);
    const done = await call("POST", `/v1/dead-letters/${id}/reprocess`);
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(done).toEqual({ status: 200, body: { result: "reprocessed", delivery_id: delivery!.id, delivery_existed: false } });
    expect(delivery).toMatchObject({ status: "pending", event: "job.succeeded" });
    expect(parts.calls.schedulerWakes).toBe(1);
    const listed = await call("GET", "/v1/dead-letters?reprocessed=true");
    expect(listed.body.data).toEqual([expect.objectContaining({ id, delivery_id: delivery!.id, reprocessed_at: expect.any(String) })]);
    expect(await call("POST", `/v1/dead-letters/${id}/reprocess`)).toMatchObject({ status: 409, body: { error: "already_reprocessed" } });
  });

  it("a refused reprocessing writes nothing: no new dead letter, no delivery", async () => {
    const { db, call, deadLetter, fromApi, letterCount } = await setup();
    const job = finishedJob({ status: "running", finishedAt: null });
    const [id] = await deadLetter(fromApi(job.id));
    db.putJob(job);
    const before = await letterCount();
    expect(await call("POST", `/v1/dead-letters/${id}/reprocess`)).toMatchObject({ status: 409, body: { error: "job_not_finished" } });
    expect(await letterCount()).toBe(before);
    expect(await db.deliveries.listDeliveriesForJob(job.id)).toEqual([]);
  });

  it("a Kafka letter is reprocessed from its raw message; one that never was an event is not reprocessable", async () => {
    const { db, call, deadLetter } = await setup();
    const job = finishedJob();
    const kafka = { source: "kafka", topic: "t", partition: 0, key: null } as const;
    const good = (await deadLetter({ value: utf8.encode(JSON.stringify({ job_id: job.id, event: "job.succeeded" })), origin: { ...kafka, offset: "1" } })).at(-1);
    const bad = (await deadLetter({ value: utf8.encode("{nope"), origin: { ...kafka, offset: "2" } })).at(-1);
    db.putJob(job);
    expect(await call("POST", `/v1/dead-letters/${good}/reprocess`)).toMatchObject({ status: 200, body: { result: "reprocessed" } });
    expect(await call("POST", `/v1/dead-letters/${bad}/reprocess`)).toMatchObject({ status: 409, body: { error: "not_reprocessable", message: expect.stringContaining("invalid_json") } });
  });

  it("a letter whose delivery arrived since is reprocessed into that delivery", async () => {
    const { db, call, deadLetter, fromApi } = await setup();
    const job = finishedJob();
    const [id] = await deadLetter(fromApi(job.id));
    db.putJob(job);
    await deadLetter(fromApi(job.id));
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    expect(await call("POST", `/v1/dead-letters/${id}/reprocess`)).toMatchObject({ status: 200, body: { delivery_id: delivery!.id, delivery_existed: true } });
  });

  it("an unknown or malformed dead-letter id is 404", async () => {
    const { call } = await setup();
    expect((await call("POST", "/v1/dead-letters/424242/reprocess")).status).toBe(404);
    expect((await call("POST", "/v1/dead-letters/abc/reprocess")).status).toBe(404);
  });

  it("the bulk form reprocesses a page of matching letters not yet reprocessed, answering per letter", async () => {
    const { db, call, deadLetter, fromApi } = await setup();
    const jobs = [finishedJob(), finishedJob(), finishedJob()];
    const ids: string[] = [];
    for (const job of jobs) ids.push((await deadLetter(fromApi(job.id))).at(-1)!);
    await deadLetter({ value: utf8.encode("{"), origin: { source: "kafka", topic: "t", partition: 0, offset: "9", key: null } });
    db.putJob(jobs[0]!);
    db.putJob(jobs[1]!);
    const first = await call("POST", "/v1/dead-letters/reprocess?reason=unknown_job");
    expect(first).toMatchObject({ status: 200, body: { reprocessed: 2, refused: 1, next_cursor: null } });
    expect(first.body.results).toEqual([
      { id: ids[2], result: "refused", error: "unknown_job", message: "unknown_job" },
      { id: ids[1], result: "reprocessed", delivery_id: expect.any(String), delivery_existed: false },
      { id: ids[0], result: "reprocessed", delivery_id: expect.any(String), delivery_existed: false },
    ]);
    expect(await call("POST", "/v1/dead-letters/reprocess?reason=unknown_job")).toMatchObject({ body: { reprocessed: 0, refused: 1 } });
    const paged = await call("POST", "/v1/dead-letters/reprocess?limit=1");
    expect(paged).toMatchObject({ body: { reprocessed: 0, refused: 1, next_cursor: expect.any(String) } });
  });

  it.each([["reprocessed", "reprocessed=false"], ["limit", "limit=0"], ["source", "source=ftp"], ["colour", "colour=blue"]])(
    "the bulk form with a bad %s is a 400 naming it",
    async (parameter, query) => {
      const { call } = await setup();
      expect(await call("POST", `/v1/dead-letters/reprocess?${query}`)).toEqual({ status: 400, body: { error: "invalid_parameter", message: expect.stringMatching(new RegExp(`^${parameter}: `)) } });
    },
  );

  it("reprocessing needs the token", async () => {
    const db = createMemoryDatabase();
    const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
    expect((await app.request("/v1/dead-letters/1/reprocess", { method: "POST" })).status).toBe(401);
    expect((await app.request("/v1/dead-letters/reprocess", { method: "POST" })).status).toBe(401);
  });
});
