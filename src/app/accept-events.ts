import { jobOfCarried } from "../domain/carried-job.ts";
import { parseWebhookEvent, type WebhookEvent } from "../domain/event.ts";
import { signingSecretsOf, type Job } from "../domain/job.ts";
import { type DeliveryPlan, planDelivery } from "../domain/plan-delivery.ts";
import { webhookIdFor } from "../domain/signer.ts";
import { checkWebhookUrl } from "../domain/webhook-url.ts";
import type { DeadLetter } from "../ports/dead-letters.ts";
import type { Secret } from "../domain/secret.ts";
import type { ClaimedDelivery, DeliveryLease, NewDelivery } from "../ports/delivery-store.ts";
import type { EventOrigin, IncomingEvent } from "../ports/event-source.ts";
import type { BodyLimits } from "../ports/job-reader.ts";
import type { LogFields, Logger } from "../ports/logger.ts";
import type { Repositories } from "../ports/transactor.ts";
import { deliveryLogFields } from "../shared/delivery-log-fields.ts";

export interface AcceptSummary {
  /** Deliveries created by this call. */
  readonly created: number;
  /** Events whose delivery already existed (a repeat of the same job_id and event). */
  readonly duplicates: number;
  /** Events of jobs without a webhook URL: nothing to deliver. */
  readonly skipped: number;
  /** Events recorded in the dead-letter table. */
  readonly deadLettered: number;
  /** Of the deliveries created, those stored failed at once: they can never be sent (an invalid URL, a body too large). */
  readonly rejected: number;
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
  /** The payload limit, and how many bytes of job bodies one look-up may bring into memory. */
  readonly bodyLimits: BodyLimits;
}

/** A plan that becomes a delivery row: one to send, or one failed at once. */
type SendablePlan = Extract<DeliveryPlan, { kind: "deliver" | "reject" }>;

interface ParsedIncoming {
  readonly event: WebhookEvent;
  readonly origin: EventOrigin;
  /** Index of the group (see `acceptEventGroups`) the event came in. */
  readonly group: number;
}

/**
 * Turns a batch of incoming events into deliveries, within the caller's transaction `tx`:
 * one job lookup, one delivery insert and at most one dead-letter insert for the whole batch,
 * unless the jobs' bodies exceed the look-up budget: then the batch is taken in turns, one
 * look-up and one insert each, so memory holds one budget's worth of bodies at a time.
 * Idempotent on (job_id, event), so redelivered input creates nothing new. With `leases`, up to
 * that many new deliveries are created leased to the caller and returned ready to attempt.
 */
export async function acceptEvents(
  deps: AcceptEventsDeps,
  tx: Repositories,
  events: readonly IncomingEvent[],
  leases: AcceptLeases = { count: 0, leaseMs: 0 },
): Promise<AcceptResult> {
  const [result] = await acceptEventGroups(deps, tx, [events], leases);
  return result!;
}

/**
 * `acceptEvents` for several batches at once, with the statements of one batch, and a result
 * per batch, in order: what each batch's events created, repeated, skipped and dead-lettered.
 * An event repeated in a later batch counts as that batch's duplicate, as it would have if the
 * batches had been accepted one after the other. The leases go to the first deliverable events.
 */
export async function acceptEventGroups(
  deps: AcceptEventsDeps,
  tx: Repositories,
  groups: readonly (readonly IncomingEvent[])[],
  leases: AcceptLeases = { count: 0, leaseMs: 0 },
): Promise<AcceptResult[]> {
  const now = deps.now();
  const turn: IntakeTurn = {
    deps,
    tx,
    now,
    leaseExpiresAt: new Date(now.getTime() + leases.leaseMs),
    leasesLeft: leases.count,
    deadLetters: [],
    counts: groups.map(() => ({ created: 0, duplicates: 0, skipped: 0, deadLettered: 0, rejected: 0, leased: [] })),
  };
  let pending = parseGroups(turn, groups);
  while (pending.length > 0) pending = await acceptReadableJobs(turn, pending);

  const { deadLetters } = turn;
  if (deadLetters.length > 0) await tx.deadLetters.recordDeadLetters(deadLetters);
  for (const invalid of deadLetters.filter((d) => d.jobId === null && d.event === null)) {
    deps.logger.warn("event dead-lettered", { source: invalid.source, reason: invalid.reason });
  }
  return turn.counts;
}

/** The events that parse, each with its group; the others become the turn's dead letters. */
function parseGroups(turn: IntakeTurn, groups: readonly (readonly IncomingEvent[])[]): ParsedIncoming[] {
  const parsed: ParsedIncoming[] = [];
  groups.forEach((events, group) => {
    for (const incoming of events) {
      const result =
        incoming.unreadable !== undefined
          ? ({ ok: false, reason: incoming.unreadable } as const)
          : parseWebhookEvent(incoming.value, { maxPayloadBytes: turn.deps.bodyLimits.maxPayloadBytes });
      if (result.ok) {
        parsed.push({ event: result.event, origin: incoming.origin, group });
        continue;
      }
      turn.deadLetters.push(deadLetterOf(incoming, result.reason, null, turn.now));
      turn.counts[group]!.deadLettered++;
    }
  });
  return parsed;
}

/** What one group's events came to; `acceptEventGroups` returns one per group. */
interface GroupCounts {
  created: number;
  duplicates: number;
  skipped: number;
  deadLettered: number;
  rejected: number;
  readonly leased: ClaimedDelivery[];
}

/** What the turns of one `acceptEventGroups` call share. */
interface IntakeTurn {
  readonly deps: AcceptEventsDeps;
  readonly tx: Repositories;
  readonly now: Date;
  readonly leaseExpiresAt: Date;
  leasesLeft: number;
  readonly deadLetters: DeadLetter[];
  readonly counts: GroupCounts[];
}

/**
 * One look-up and one insert for the events whose jobs' bodies fit the look-up budget; returns
 * the events whose jobs were left for a later turn (the reader always reads at least one).
 * An event that carries its job needs no look-up: its job is used as if read from `jobs`.
 */
async function acceptReadableJobs(turn: IntakeTurn, events: readonly ParsedIncoming[]): Promise<ParsedIncoming[]> {
  const { deps, tx } = turn;
  const lookedUp = [...new Set(events.filter((p) => p.event.job === undefined).map((p) => p.event.jobId))];
  const jobs = lookedUp.length > 0 ? await tx.jobs.findJobs(lookedUp, deps.bodyLimits) : new Map<string, Job>();
  const later: ParsedIncoming[] = [];
  const secretsOf = new Map<string, readonly Secret[]>();
  // The events of deliveries that fail at once, by delivery id: logged once stored (a repeated event stores none).
  const rejectedEvents = new Map<string, LogFields>();
  const wanted = new Map<string, { readonly row: NewDelivery; readonly group: number }>();
  for (const parsed of events) {
    const { event } = parsed;
    const job = event.job === undefined ? jobs.get(event.jobId) : jobOfCarried(event.jobId, event.job);
    if (job?.unreadBody?.reason === "over_budget") {
      later.push(parsed);
      continue;
    }
    const key = `${event.jobId}\u0000${event.event}`;
    const plan = planFor(turn, parsed, job);
    if (plan === null) continue;
    if (wanted.has(key)) {
      turn.counts[parsed.group]!.duplicates++;
      continue;
    }
    const row = newDeliveryOf(turn, event, plan);
    if (row.lease) secretsOf.set(row.id, signingSecretsOf(job) ?? []);
    if (row.rejection !== null) rejectedEvents.set(row.id, logFieldsOf(event, parsed.origin));
    wanted.set(key, { row, group: parsed.group });
  }

  const rows = [...wanted.values()].map((w) => w.row);
  const createdIds = rows.length > 0 ? await tx.deliveries.createDeliveries(rows) : [];
  const created = new Set(createdIds.map((id) => id.toLowerCase()));
  for (const { row, group } of wanted.values()) {
    const counts = turn.counts[group]!;
    if (!created.has(row.id.toLowerCase())) {
      counts.duplicates++;
      continue;
    }
    counts.created++;
    if (row.lease) counts.leased.push(leasedDelivery(row, row.lease, secretsOf.get(row.id) ?? []));
    const eventFields = rejectedEvents.get(row.id);
    if (eventFields !== undefined) {
      counts.rejected++;
      deps.logger.warn("delivery failed at once: it can never be sent", { ...eventFields, ...deliveryLogFields(row, 0), reason: row.rejection });
    }
  }
  return later;
}

/** The plan of an event's delivery; null when there is none to create (skipped, or dead-lettered into the turn). */
function planFor(turn: IntakeTurn, { event, origin, group }: ParsedIncoming, job: Job | undefined): SendablePlan | null {
  const { deps, now } = turn;
  const plan = planDelivery(job, deps.bodyLimits);
  const fields = logFieldsOf(event, origin);
  const counts = turn.counts[group]!;
  if (plan.kind === "skip") {
    counts.skipped++;
    deps.logger.info("event skipped: the job has no webhook URL", fields);
    return null;
  }
  if (plan.kind === "dead_letter") {
    turn.deadLetters.push(deadLetterOf({ value: null, origin }, plan.reason, event, now));
    counts.deadLettered++;
    deps.logger.warn("event dead-lettered", { ...fields, reason: plan.reason });
    return null;
  }
  return plan;
}

/**
 * The row of an event's planned delivery. Its URL is checked here, so that a delivery that can
 * never be sent is stored failed at once with the reason; the others are leased to the caller
 * while the turn has leases left.
 */
function newDeliveryOf(turn: IntakeTurn, event: WebhookEvent, plan: SendablePlan): NewDelivery {
  const { deps } = turn;
  const id = deps.newId();
  const url = checkWebhookUrl(plan.url);
  const rejection = plan.kind === "reject" ? plan.reason : url.ok ? null : url.reason;
  let lease: DeliveryLease | null = null;
  if (rejection === null && turn.leasesLeft > 0) {
    turn.leasesLeft--;
    lease = { token: deps.newId(), expiresAt: turn.leaseExpiresAt };
  }
  return {
    id,
    webhookId: webhookIdFor(id),
    jobId: event.jobId,
    event: event.event,
    url: url.ok ? url.url : plan.url,
    // A rejected delivery keeps no body: it is never sent.
    payload: plan.kind === "deliver" ? plan.payload : new Uint8Array(0),
    traceId: event.traceId,
    createdAt: turn.now,
    rejection,
    lease,
    // No `jobs` row holds a carried job's secret, so the delivery keeps it for every attempt.
    carriedJob: event.job === undefined ? null : { secret: event.job.webhook?.secret ?? null },
  };
}

/**
 * The dead letter of one event that the database refused to store (`reason` names the error):
 * its bytes and coordinates are kept, and of its fields only the job id, which parsing has
 * checked to be a uuid — the field at fault may be any other.
 */
export function refusedDeadLetter(incoming: IncomingEvent, reason: string, now: Date): DeadLetter {
  const parsed = parseWebhookEvent(incoming.value);
  const letter = deadLetterOf(incoming, reason, null, now);
  return parsed.ok ? { ...letter, jobId: parsed.event.jobId } : letter;
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
    attemptBudgetStart: 0,
    payload: row.payload,
    nextAttemptAt: lease.expiresAt,
    lastAttemptAt: null,
    lastError: null,
    traceId: row.traceId,
    createdAt: row.createdAt,
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
    lastOffset: kafka?.lastOffset ?? null,
    key: kafka?.key ?? null,
    createdAt: now,
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
