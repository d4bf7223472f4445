import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, outboxPollerWithoutSlots } from "../support/app-fixtures.ts";
import { newDeadLetter } from "../support/contract-subject.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const SECRET = "whsec_c2VjcmV0LW5ldmVyLXNob3du";
/** What must never appear in an answer: the secret's key, with or without its prefix. */
const SECRET_KEY = "c2VjcmV0LW5ldmVyLXNob3du";
const MAX_PAYLOAD = 4096;

function setup() {
  const db = createMemoryDatabase();
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {}, maxPayloadBytes: MAX_PAYLOAD });
  const request = async (path: string, body?: string) => {
    const init = body === undefined ? {} : { method: "POST", body };
    const response = await app.request(path, { ...init, headers: { authorization: `Bearer ${TOKEN}` } });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as Record<string, unknown> };
  };
  const poller = outboxPollerWithoutSlots({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, db.transaction, { batchSize: 10, pollIntervalMs: 1_000, onDeliveriesCreated: () => {} });
  return { db, request, poller };
}

const job = (markup = "<story>Once upon a time</story>") => ({
  status: "succeeded",
  finished_at: "2026-01-01T12:00:00Z",
  output_markup: markup,
  webhook: { url: "https://receiver.example/hook", secret: SECRET },
});
const eventWithJob = (markup?: string) => ({ job_id: randomUUID(), event: "job.succeeded", trace_id: "t", job: job(markup) });

/** An event with its job of exactly `bytes` bytes of JSON. */
function eventOfSize(bytes: number): string {
  const shell = JSON.stringify(eventWithJob(""));
  const text = JSON.stringify({ ...JSON.parse(shell), job: job("x".repeat(bytes - shell.length)) });
  expect(text.length).toBe(bytes);
  return text;
}

describe("admin API, events that carry their job", () => {
  it("queues one event with its job and never answers with the secret; the outbox keeps the job for the poller", async () => {
    const { db, request } = setup();
    const event = eventWithJob();
    const { status, text } = await request("/v1/events", JSON.stringify(event));
    expect(status).toBe(202);
    expect(JSON.parse(text)).toEqual({ outbox_id: expect.any(String), job_id: event.job_id, event: "job.succeeded", trace_id: "t" });
    expect(text).not.toContain(SECRET_KEY);
    const [row] = await db.transaction((tx) => tx.outbox.claimPendingEvents({ limit: 10 }));
    expect(row?.job).toEqual({ ...event.job, finished_at: "2026-01-01T12:00:00.000Z" });
  });

  it("queues a batch of events with their jobs and answers per event, without a secret", async () => {
    const { request } = setup();
    const { status, text } = await request("/v1/events", JSON.stringify([eventWithJob(), { ...eventWithJob(), job: { ...job(), status: "done" } }]));
    expect(status).toBe(202);
    expect(JSON.parse(text)).toMatchObject({ accepted: 1, refused: 1, results: [{ index: 0 }, { index: 1, message: 'invalid_field: job.status must be "succeeded" or "failed"' }] });
    expect(text).not.toContain(SECRET_KEY);
  });

  it("refuses an event whose job is invalid with a 400 and the reason, never the secret", async () => {
    const { request } = setup();
    const badSecret = "not a usable secret";
    const answers = [
      await request("/v1/events", JSON.stringify({ ...eventWithJob(), job: { ...job(), finished_at: "soon" } })),
      await request("/v1/events", JSON.stringify({ ...eventWithJob(), job: { ...job(), webhook: { url: "https://r.example/", secret: badSecret } } })),
      await request("/v1/events", `{"job_id": "${randomUUID()}", "job": {"webhook": {"secret": "${SECRET}"}}, "x": tru}`),
    ];
    expect(answers.map((a) => [a.status, a.body.error, a.body.message])).toEqual([
      [400, "invalid_event", "invalid_field: job.finished_at must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z"],
      [400, "invalid_event", "invalid_field: job.webhook.secret: secret contains whitespace or control characters"],
      [400, "invalid_json", expect.any(String)],
    ]);
    for (const answer of answers) expect(answer.text).not.toMatch(new RegExp(`${SECRET_KEY}|${badSecret}`));
  });

  it("takes one event with its job up to WEBHOOK_MAX_PAYLOAD plus 64 KiB, and answers 413 one byte over", async () => {
    const { request } = setup();
    const max = MAX_PAYLOAD + 64 * 1024;
    expect((await request("/v1/events", eventOfSize(max))).status).toBe(202);
    const over = await request("/v1/events", eventOfSize(max + 1));
    expect([over.status, over.body.error, over.body.message]).toEqual([413, "payload_too_large", `one event with its job is limited to ${max} bytes (WEBHOOK_MAX_PAYLOAD plus 65536)`]);
  });

  it("still holds an event without a job to 64 KiB, and a request to the batch limit of 1 MiB", async () => {
    const { request } = setup();
    const padded = JSON.stringify({ job_id: randomUUID(), event: "job.succeeded", trace_id: null, pad: "x".repeat(64 * 1024) });
    expect((await request("/v1/events", padded)).body).toMatchObject({ error: "payload_too_large", message: "one event is limited to 65536 bytes" });
    const batch = JSON.stringify([{ ...eventWithJob(), pad: "x".repeat(1024 * 1024) }]);
    expect((await request("/v1/events", batch)).status).toBe(413);
  });

  it("shows the delivery of a carried job, by id and by job, without its secret", async () => {
    const { request, poller } = setup();
    const event = eventWithJob();
    await request("/v1/events", JSON.stringify(event));
    expect(await poller.pollOnce()).toMatchObject({ processed: 1, created: 1 });
    const byJob = await request(`/v1/jobs/${event.job_id}/deliveries`);
    const [delivery] = byJob.body.deliveries as { id: string; payload: unknown }[];
    expect(delivery?.payload).toEqual({ job_id: event.job_id, status: "succeeded", finished_at: "2026-01-01T12:00:00.000Z", output_markup: event.job.output_markup });
    const byId = await request(`/v1/deliveries/${delivery!.id}`);
    const list = await request("/v1/deliveries");
    for (const answer of [byJob, byId, list]) expect(answer.text).not.toContain(SECRET_KEY);
  });

  it("redacts the secret in a dead-lettered event's raw bytes, JSON or not, and leaves other bytes as they were", async () => {
    const { db, request } = setup();
    const utf8 = (text: string) => new TextEncoder().encode(text);
    const raws = [
      utf8(JSON.stringify({ job_id: "x", job: { ...job(), status: "done" } })),
      utf8(`{"job_id": "x", "job": {"webhook": {"url": "https://r.example/", "secret": "${SECRET}"}`),
      utf8(`{"job": {"webhook": {"\\u0073ecret": "${SECRET}"}}}`),
      new Uint8Array([0xff, ...utf8(`"secret":"${SECRET}"`), 0xfe]),
      new Uint8Array([0x00, 0xff, 0x7b]),
    ];
    for (const raw of raws) await db.deadLetters.recordDeadLetters([newDeadLetter({ source: "kafka", reason: "invalid_field: job.status", raw })]);
    const { text, body } = await request("/v1/dead-letters?limit=10");
    const shown = (body.data as { raw_base64: string }[]).reverse().map((l) => Buffer.from(l.raw_base64, "base64"));
    for (const raw of shown) expect(raw.toString("latin1")).not.toContain(SECRET_KEY);
    expect(text).not.toContain(Buffer.from(SECRET).toString("base64").slice(0, 20));
    expect(JSON.parse(shown[0]!.toString()).job.webhook).toEqual({ url: "https://receiver.example/hook", secret: "[redacted]" });
    expect(shown[1]!.toString()).toBe('{"job_id": "x", "job": {"webhook": {"url": "https://r.example/", "secret": "[redacted]"}');
    expect([...shown[3]!]).toEqual([0xff, ...utf8('"secret":"[redacted]"'), 0xfe]);
    expect([...shown[4]!]).toEqual([0x00, 0xff, 0x7b]);
  });
});
