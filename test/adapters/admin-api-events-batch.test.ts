import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";

function setup(options: { failAppendAt?: number } = {}) {
  const db = createMemoryDatabase();
  let appended = 0;
  let appends = 0;
  // Optionally a database whose n-th append fails, to show a batch is all or nothing.
  const transaction: typeof db.transaction = (work) =>
    db.transaction((tx) =>
      work({
        ...tx,
        outbox: {
          ...tx.outbox,
          appendEvent: (params) => (++appends === options.failAppendAt ? Promise.reject(new Error("disk full")) : tx.outbox.appendEvent(params)),
        },
      }),
    );
  const app = createAdminApi({ ...operatorParts(db), db: { ...db, transaction }, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => appended++ });
  const post = async (body: string) => {
    const response = await app.request("/v1/events", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const outboxRows = () => db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 2_000 }));
  return { post, outboxRows, appended: () => appended };
}

const event = (jobId = randomUUID()) => ({ job_id: jobId, event: "job.succeeded", trace_id: `t-${jobId.slice(0, 8)}` });

describe("admin API, batches of events", () => {
  it("appends the valid events of a batch in one go and says, per event, its outbox id or why it was refused", async () => {
    const { post, outboxRows, appended } = setup();
    const [a, b] = [event(), event()];
    const { status, body } = await post(JSON.stringify([a, { job_id: "42", event: "job.succeeded" }, b]));
    expect(status).toBe(202);
    expect(body).toEqual({
      accepted: 2,
      refused: 1,
      results: [
        { index: 0, outbox_id: expect.any(String), job_id: a.job_id, event: "job.succeeded" },
        { index: 1, error: "invalid_event", message: expect.stringContaining("job_id") },
        { index: 2, outbox_id: expect.any(String), job_id: b.job_id, event: "job.succeeded" },
      ],
    });
    expect((await outboxRows()).map((row) => row.jobId)).toEqual([a.job_id, b.job_id]);
    expect(appended()).toBe(1);
  });

  it("takes 1,000 events in one request, over the 64 KiB that one event may have", async () => {
    const { post, outboxRows } = setup();
    const batch = Array.from({ length: 1_000 }, () => event());
    expect(JSON.stringify(batch).length).toBeGreaterThan(64 * 1024);
    const { status, body } = await post(JSON.stringify(batch));
    expect(status).toBe(202);
    expect(body).toMatchObject({ accepted: 1_000, refused: 0 });
    expect(await outboxRows()).toHaveLength(1_000);
  });

  it("appends nothing of a batch when the database fails partway, and answers 500", async () => {
    const { post, outboxRows, appended } = setup({ failAppendAt: 3 });
    const { status } = await post(JSON.stringify([event(), event(), event(), event()]));
    expect(status).toBe(500);
    expect(await outboxRows()).toEqual([]);
    expect(appended()).toBe(0);
  });

  it.each([
    ["an empty batch", "[]", "invalid_batch"],
    ["1,001 events", JSON.stringify(Array.from({ length: 1_001 }, () => event())), "invalid_batch"],
    ["a batch with no valid event", JSON.stringify([{ job_id: "42" }, 7]), "invalid_event"],
  ])("answers 400 for %s and appends nothing", async (_name, body, error) => {
    const { post, outboxRows } = setup();
    const response = await post(body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error, message: expect.any(String) });
    expect(await outboxRows()).toEqual([]);
  });

  it("still answers 413 for one event over 64 KiB", async () => {
    const { post } = setup();
    expect((await post(JSON.stringify({ ...event(), trace_id: "x".repeat(70_000) }))).status).toBe(413);
  });
});
