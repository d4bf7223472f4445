import type { Context } from "hono";
import { carriedJobJson } from "../../domain/carried-job.ts";
import { DEFAULT_MAX_EVENT_BYTES, jsonErrorMessage, maxJobEventBytes, parseWebhookEvent, type WebhookEvent } from "../../domain/event.ts";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { Logger } from "../../ports/logger.ts";
import { problem } from "./problem.ts";

export interface EventsDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called after events were appended to the outbox, so the poller looks at once. */
  readonly onEventAppended: () => void;
  /** WEBHOOK_MAX_PAYLOAD, bytes: bounds an event that carries its job (1 MiB when absent). */
  readonly maxPayloadBytes?: number;
}

/** Largest body of a batch of events without jobs, bytes: 1,000 events with room for long trace ids. */
const MAX_BATCH_BODY_BYTES = 1024 * 1024;

/**
 * Largest body of `POST /v1/events`, bytes: a batch, or one event that carries its job
 * (WEBHOOK_MAX_PAYLOAD plus 64 KiB), whichever is larger. A batch of jobs fits the same bound,
 * so one request never holds more than about one webhook body's worth of markup per 1 MiB.
 */
export function maxEventsBodyBytes(maxPayloadBytes?: number): number {
  return Math.max(MAX_BATCH_BODY_BYTES, maxJobEventBytes({ maxPayloadBytes }));
}
/** Most events in one batch. */
const MAX_BATCH_EVENTS = 1_000;

type Result = { index: number; outbox_id: string; job_id: string; event: string } | { index: number; error: string; message: string };

/**
 * `POST /v1/events`: one event (an object) or a batch (an array of up to 1,000). A batch is
 * appended in one transaction; the answer says, per event, its outbox id or why it was refused.
 * A batch in which no event is valid is a 400.
 */
export async function postEvents(c: Context, deps: EventsDeps): Promise<Response> {
  const text = await c.req.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    return problem(c, 400, "invalid_json", jsonErrorMessage(error));
  }
  if (!Array.isArray(body)) {
    const tooLarge = oneEventTooLarge(text, body, deps.maxPayloadBytes);
    return tooLarge === null ? postOne(c, deps, body) : problem(c, 413, "payload_too_large", tooLarge);
  }
  if (body.length === 0 || body.length > MAX_BATCH_EVENTS) return problem(c, 400, "invalid_batch", `a batch holds 1 to ${MAX_BATCH_EVENTS} events; this one has ${body.length}`);
  const parsed = body.map((item) => parseWebhookEvent(item));
  const valid = parsed.flatMap((result, index) => (result.ok ? [{ index, event: result.event }] : []));
  if (valid.length === 0) {
    const results = parsed.map((result, index) => ({ index, error: "invalid_event", message: result.ok ? "" : result.reason }));
    return c.json({ error: "invalid_event", message: `no event of the batch is valid; the first: ${results[0]!.message}`, results }, 400);
  }
  const ids = await appendAll(deps, valid.map((v) => v.event));
  deps.onEventAppended();
  deps.logger.info("events queued on the outbox", { count: ids.length, refused: parsed.length - ids.length });
  const byIndex = new Map(valid.map((v, i) => [v.index, { outboxId: ids[i]!, event: v.event }]));
  const results: Result[] = parsed.map((result, index) => {
    const appended = byIndex.get(index);
    if (appended !== undefined) return { index, outbox_id: appended.outboxId, job_id: appended.event.jobId, event: appended.event.event };
    return { index, error: "invalid_event", message: result.ok ? "" : result.reason };
  });
  return c.json({ accepted: ids.length, refused: parsed.length - ids.length, results }, 202);
}

/** Why one event's body is too large (64 KiB; WEBHOOK_MAX_PAYLOAD plus 64 KiB with its job), or null. */
function oneEventTooLarge(text: string, body: unknown, maxPayloadBytes: number | undefined): string | null {
  const size = new TextEncoder().encode(text).length;
  const carriesJob = typeof body === "object" && body !== null && (body as Record<string, unknown>)["job"] != null;
  const max = carriesJob ? maxJobEventBytes({ maxPayloadBytes }) : DEFAULT_MAX_EVENT_BYTES;
  if (size <= max) return null;
  return carriesJob ? `one event with its job is limited to ${max} bytes (WEBHOOK_MAX_PAYLOAD plus 65536)` : `one event is limited to ${max} bytes`;
}

async function postOne(c: Context, deps: EventsDeps, body: unknown): Promise<Response> {
  const parsed = parseWebhookEvent(body);
  if (!parsed.ok) return problem(c, 400, "invalid_event", parsed.reason);
  const { jobId, event, traceId } = parsed.event;
  const [outboxId] = await appendAll(deps, [parsed.event]);
  deps.onEventAppended();
  deps.logger.info("event queued on the outbox", { outbox_id: outboxId, job_id: jobId, event, trace_id: traceId });
  return c.json({ outbox_id: outboxId, job_id: jobId, event, trace_id: traceId }, 202);
}

/** Appends the events in one transaction: all or none. Returns their outbox ids, in order. */
function appendAll(deps: EventsDeps, events: readonly WebhookEvent[]): Promise<string[]> {
  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const ids: string[] = [];
    for (const { jobId, event, traceId, job } of events) {
      ids.push(await tx.outbox.appendEvent({ jobId, event, traceId, job: job === undefined ? null : carriedJobJson(job), now }));
    }
    return ids;
  });
}
