import { parseWebhookEvent, type WebhookEvent } from "../domain/event.ts";
import { planDelivery } from "../domain/plan-delivery.ts";
import { webhookIdFor } from "../domain/signer.ts";
import { checkWebhookUrl } from "../domain/webhook-url.ts";
import type { DeadLetter } from "../ports/dead-letters.ts";
import type { NewDelivery } from "../ports/delivery-store.ts";
import type { EventOrigin, IncomingEvent } from "../ports/event-source.ts";
import type { LogFields, Logger } from "../ports/logger.ts";
import type { Repositories } from "../ports/transactor.ts";

export interface AcceptSummary {
  /** Deliveries created by this call. */
  readonly created: number;
  /** Events whose delivery already existed (a repeat of the same job_id and event). */
  readonly duplicates: number;
  /** Events of jobs without a webhook URL: nothing to deliver. */
  readonly skipped: number;
  /** Events recorded in the dead-letter table. */
  readonly deadLettered: number;
}

export interface AcceptEventsDeps {
  readonly newId: () => string;
  readonly now: () => Date;
  readonly logger: Logger;
}

/**
 * Turns a batch of incoming events into deliveries, within the caller's transaction `tx`:
 * one job lookup, one delivery insert and at most one dead-letter insert for the whole batch.
 * Idempotent on (job_id, event), so redelivered input creates nothing new.
 */
export async function acceptEvents(
  deps: AcceptEventsDeps,
  tx: Repositories,
  events: readonly IncomingEvent[],
): Promise<AcceptSummary> {
  const now = deps.now();
  const deadLetters: DeadLetter[] = [];
  const parsed: { event: WebhookEvent; origin: EventOrigin }[] = [];
  for (const incoming of events) {
    const result = parseWebhookEvent(incoming.value);
    if (result.ok) parsed.push({ event: result.event, origin: incoming.origin });
    else deadLetters.push(deadLetterOf(incoming, result.reason, null, now));
  }

  const jobs = await tx.jobs.findJobs([...new Set(parsed.map((p) => p.event.jobId))]);
  const wanted = new Map<string, NewDelivery>();
  let skipped = 0;
  let duplicates = 0;
  for (const { event, origin } of parsed) {
    const plan = planDelivery(jobs.get(event.jobId));
    const fields = logFieldsOf(event, origin);
    if (plan.kind === "skip") {
      skipped++;
      deps.logger.info("event skipped: the job has no webhook URL", fields);
    } else if (plan.kind === "dead_letter") {
      deadLetters.push(deadLetterOf({ value: null, origin }, plan.reason, event, now));
      deps.logger.warn("event dead-lettered", { ...fields, reason: plan.reason });
    } else {
      const key = `${event.jobId}\u0000${event.event}`;
      if (wanted.has(key)) {
        duplicates++;
        continue;
      }
      const id = deps.newId();
      const url = checkWebhookUrl(plan.url);
      if (!url.ok) deps.logger.warn("delivery failed at once: its webhook URL can never be sent to", { ...fields, reason: url.reason });
      wanted.set(key, {
        id,
        webhookId: webhookIdFor(id),
        jobId: event.jobId,
        event: event.event,
        url: url.ok ? url.url : plan.url,
        payload: plan.payload,
        traceId: event.traceId,
        now,
        rejection: url.ok ? null : url.reason,
      });
    }
  }

  const createdIds = wanted.size > 0 ? await tx.deliveries.createDeliveries([...wanted.values()]) : [];
  if (deadLetters.length > 0) await tx.deadLetters.recordDeadLetters(deadLetters);
  for (const invalid of deadLetters.filter((d) => d.jobId === null && d.event === null)) {
    deps.logger.warn("event dead-lettered", { source: invalid.source, reason: invalid.reason });
  }
  return {
    created: createdIds.length,
    duplicates: duplicates + wanted.size - createdIds.length,
    skipped,
    deadLettered: deadLetters.length,
  };
}

function deadLetterOf(incoming: IncomingEvent, reason: string, event: WebhookEvent | null, now: Date): DeadLetter {
  const { origin } = incoming;
  const kafka = origin.source === "kafka" ? origin : null;
  return {
    source: origin.source,
    reason,
    jobId: event?.jobId ?? null,
    event: event?.event ?? null,
    traceId: event?.traceId ?? null,
    raw: rawBytesOf(incoming.value),
    topic: kafka?.topic ?? null,
    partition: kafka?.partition ?? null,
    offset: kafka?.offset ?? null,
    key: kafka?.key ?? null,
    now,
  };
}

const encoder = new TextEncoder();

/** Keeps what arrived, byte for byte when it came as bytes, so an operator can see and replay it. */
function rawBytesOf(value: unknown): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Uint8Array) return value;
  if (typeof value === "string") return encoder.encode(value);
  try {
    return encoder.encode(JSON.stringify(value));
  } catch {
    return null;
  }
}

function logFieldsOf(event: WebhookEvent, origin: EventOrigin): LogFields {
  return { job_id: event.jobId, event: event.event, trace_id: event.traceId, source: origin.source };
}
