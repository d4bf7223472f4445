import type { Context } from "hono";
import { parseWebhookEvent, type WebhookEvent } from "../../domain/event.ts";
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
}

/** Largest body of one event, bytes. An event is well under 1 KiB. */
const MAX_EVENT_BODY_BYTES = 64 * 1024;
/** Largest body of a batch, bytes: 1,000 events with room for long trace ids. */
export const MAX_BATCH_BODY_BYTES = 1024 * 1024;
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
    return problem(c, 400, "invalid_json", error instanceof Error ? error.message : "the body is not JSON");
  }
  if (!Array.isArray(body)) {
    if (new TextEncoder().encode(text).length > MAX_EVENT_BODY_BYTES) return problem(c, 413, "payload_too_large", `one event is limited to ${MAX_EVENT_BODY_BYTES} bytes`);
    return postOne(c, deps, body);
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
    for (const { jobId, event, traceId } of events) ids.push(await tx.outbox.appendEvent({ jobId, event, traceId, now }));
    return ids;
  });
}
