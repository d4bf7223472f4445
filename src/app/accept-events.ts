import { parseWebhookEvent, type WebhookEvent } from "../domain/event.ts";
import { planDelivery } from "../domain/plan-delivery.ts";
import { webhookIdFor } from "../domain/signer.ts";
import { checkWebhookUrl } from "../domain/webhook-url.ts";
import type { DeadLetter } from "../ports/dead-letters.ts";
import type { Secret } from "../domain/secret.ts";
import type { ClaimedDelivery, DeliveryLease, NewDelivery } from "../ports/delivery-store.ts";
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

/** What `acceptEvents` returns: the counts, and the deliveries it created leased to the caller. */
export interface AcceptResult extends AcceptSummary {
  /** Created already leased (see `AcceptLeases`), ready to attempt without a claim. */
  readonly leased: readonly ClaimedDelivery[];
}

/** Deliveries to create already leased to the caller, who has free slots to attempt them now. */
export interface AcceptLeases {
  /** Most deliveries to lease; the first deliverable events of the batch get them. */
  readonly count: number;
  /** Lease length, ms. */
  readonly leaseMs: number;
}

export interface AcceptEventsDeps {
  readonly newId: () => string;
  readonly now: () => Date;
  readonly logger: Logger;
}

/**
 * Turns a batch of incoming events into deliveries, within the caller's transaction `tx`:
 * one job lookup, one delivery insert and at most one dead-letter insert for the whole batch.
 * Idempotent on (job_id, event), so redelivered input creates nothing new. With `leases`, up to
 * that many new deliveries are created leased to the caller and returned ready to attempt.
 */
export async function acceptEvents(
  deps: AcceptEventsDeps,
  tx: Repositories,
  events: readonly IncomingEvent[],
  leases: AcceptLeases = { count: 0, leaseMs: 0 },
): Promise<AcceptResult> {
  const now = deps.now();
  const leaseExpiresAt = new Date(now.getTime() + leases.leaseMs);
  let leasesLeft = leases.count;
  const secretsOf = new Map<string, readonly Secret[]>();
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
      let lease: DeliveryLease | null = null;
      if (url.ok && leasesLeft > 0) {
        leasesLeft--;
        lease = { token: deps.newId(), expiresAt: leaseExpiresAt };
        const secret = jobs.get(event.jobId)?.webhookSecret ?? null;
        secretsOf.set(id, secret === null ? [] : [secret]);
      }
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
        lease,
      });
    }
  }

  const createdIds = wanted.size > 0 ? await tx.deliveries.createDeliveries([...wanted.values()]) : [];
  if (deadLetters.length > 0) await tx.deadLetters.recordDeadLetters(deadLetters);
  for (const invalid of deadLetters.filter((d) => d.jobId === null && d.event === null)) {
    deps.logger.warn("event dead-lettered", { source: invalid.source, reason: invalid.reason });
  }
  const created = new Set(createdIds.map((id) => id.toLowerCase()));
  const leased: ClaimedDelivery[] = [];
  for (const row of wanted.values()) {
    if (row.lease && created.has(row.id.toLowerCase())) leased.push(leasedDelivery(row, row.lease, secretsOf.get(row.id) ?? []));
  }
  return {
    created: createdIds.length,
    duplicates: duplicates + wanted.size - createdIds.length,
    skipped,
    deadLettered: deadLetters.length,
    leased,
  };
}

/** A delivery just created leased, as a claim would have returned it. */
function leasedDelivery(row: NewDelivery, lease: DeliveryLease, secrets: readonly Secret[]): ClaimedDelivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    jobId: row.jobId,
    event: row.event,
    url: row.url,
    status: "pending",
    attempts: 0,
    payload: row.payload,
    nextAttemptAt: lease.expiresAt,
    lastAttemptAt: null,
    lastError: null,
    traceId: row.traceId,
    createdAt: row.now,
    leaseToken: lease.token,
    leaseExpiresAt: lease.expiresAt,
    secrets,
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
