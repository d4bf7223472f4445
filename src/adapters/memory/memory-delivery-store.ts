import type { Delivery, DeliveryAttempt } from "../../domain/delivery.ts";
import { signingSecretsOf } from "../../domain/job.ts";
import { stateAfter } from "../../domain/next-state.ts";
import { makeSecret } from "../../domain/secret.ts";
import { isUuid } from "../../domain/uuid.ts";
import { urlOrigin } from "../../domain/url-origin.ts";
import type { CancelOutcome, ClaimedDelivery, CompleteAttempt, DeliveryFilter, RedriveOutcome, DeliveryStore, DeliveryWithAttempts, LeaseRelease, NewDelivery } from "../../ports/delivery-store.ts";
import { canonicalUuid, cloneTables, copyBytes, type MemoryState, sqlStateError, type StoredDelivery } from "./memory-state.ts";

/**
 * The delivery store over the fake's tables, with the Postgres adapter's semantics: the same
 * uniqueness rules, the same lease fencing, the same move of `nextAttemptAt` to the lease expiry.
 * Each method changes the tables in one synchronous step, so it is atomic like one statement.
 */
export function makeMemoryDeliveryStore(state: MemoryState): DeliveryStore {
  return {
    createDeliveries: async (rows) => insertDeliveries(state, rows),
    claimDueDeliveries: async (params) => claimDueDeliveries(state, params),
    completeAttempt: async (item) => completeAttempt(state, item),
    completeAttempts: async (items) => completeAttempts(state, items),
    releaseLeases: async (params) => releaseLeases(state, params),
    nextDueAt: async () => nextDueAt(state),
    getDelivery: async (id) => getDelivery(state, id),
    redriveDelivery: async (params) => redriveDelivery(state, params),
    cancelDelivery: async (params) => cancelDelivery(state, params),
    recordOperatorAction: async (action) => void state.tables.operatorActions.push({ ...action, deliveryId: action.deliveryId.toLowerCase(), replayId: action.replayId ?? null }),
    listDeliveries: async (params) => listDeliveries(state, params),
    listDeliveriesForJob: async (jobId) => listDeliveriesForJob(state, jobId),
  };
}

function insertDeliveries(state: MemoryState, rows: readonly NewDelivery[]): readonly string[] {
  const { deliveries } = state.tables;
  const taken = new Set([...deliveries.values()].map((d) => `${d.jobId} ${d.event}`));
  const ids = new Set(deliveries.keys());
  const created: StoredDelivery[] = [];
  // Checked in full before anything is stored: a failing statement stores nothing.
  for (const row of rows) {
    const id = canonicalUuid(row.id);
    const jobId = canonicalUuid(row.jobId);
    if (taken.has(`${jobId} ${row.event}`)) continue; // on conflict (job_id, event) do nothing
    if (ids.has(id)) throw sqlStateError("23505", `duplicate key value violates unique constraint "webhook_deliveries_pkey"`);
    const lease = row.rejection === null ? (row.lease ?? null) : null;
    taken.add(`${jobId} ${row.event}`);
    ids.add(id);
    created.push({
      id,
      webhookId: row.webhookId,
      jobId,
      event: row.event,
      url: row.url,
      status: row.rejection === null ? "pending" : "failed",
      attempts: 0,
      attemptBudgetStart: 0,
      payload: copyBytes(row.payload),
      nextAttemptAt: row.rejection === null ? (lease?.expiresAt ?? row.createdAt) : null,
      lastAttemptAt: null,
      lastError: row.rejection,
      traceId: row.traceId,
      createdAt: row.createdAt,
      leaseToken: lease === null ? null : canonicalUuid(lease.token),
      lockedUntil: lease?.expiresAt ?? null,
      ...(row.carriedJob == null ? {} : { carriedSecret: row.carriedJob.secret?.reveal() ?? null }),
    });
  }
  for (const delivery of created) deliveries.set(delivery.id, delivery);
  return created.map((d) => d.id);
}

function claimDueDeliveries(state: MemoryState, params: { now: Date; limit: number; leaseMs: number }): readonly ClaimedDelivery[] {
  const { now, limit, leaseMs } = params;
  const { deliveries } = state.tables;
  const leaseExpiresAt = new Date(now.getTime() + leaseMs);
  const due = [...deliveries.values()]
    .filter((d) => d.status === "pending" && d.nextAttemptAt !== null && d.nextAttemptAt <= now)
    .sort((a, b) => time(a.nextAttemptAt) - time(b.nextAttemptAt) || compare(a.id, b.id))
    .slice(0, Math.max(0, limit));
  return due.map((d) => {
    const claimed: StoredDelivery = {
      ...d,
      leaseToken: state.newUuid(),
      lockedUntil: leaseExpiresAt,
      nextAttemptAt: leaseExpiresAt,
    };
    deliveries.set(d.id, claimed);
    return {
      ...publicDelivery(claimed),
      leaseToken: claimed.leaseToken as string,
      leaseExpiresAt,
      secrets: d.carriedSecret === undefined ? signingSecretsOf(state.jobs.get(d.jobId)) : carriedSecrets(d.carriedSecret),
    };
  });
}

function completeAttempt(state: MemoryState, { deliveryId, leaseToken, attempt, next }: CompleteAttempt): boolean {
  const { deliveries, attempts } = state.tables;
  const current = deliveries.get(deliveryId.toLowerCase());
  if (current === undefined || current.leaseToken === null || current.leaseToken !== leaseToken.toLowerCase()) return false;
  const recorded = attempts.get(current.id) ?? [];
  if (recorded.some((a) => a.attemptNumber === attempt.attemptNumber)) {
    throw sqlStateError("23505", `duplicate key value violates unique constraint "webhook_delivery_attempts_pkey"`);
  }
  deliveries.set(current.id, {
    ...current,
    ...stateAfter(next),
    attempts: attempt.attemptNumber,
    lastAttemptAt: attempt.startedAt,
    leaseToken: null,
    lockedUntil: null,
  });
  const row: DeliveryAttempt = { ...attempt, deliveryId: current.id, durationMs: Math.round(attempt.durationMs) };
  attempts.set(current.id, [...recorded, row].sort((a, b) => a.attemptNumber - b.attemptNumber));
  return true;
}

function completeAttempts(state: MemoryState, items: readonly CompleteAttempt[]): readonly boolean[] {
  // Checked in full before anything is stored, as one statement would be: all or nothing.
  const before = cloneTables(state.tables);
  try {
    return items.map((item) => completeAttempt(state, item));
  } catch (error) {
    state.tables = before;
    throw error;
  }
}

function releaseLeases(state: MemoryState, params: { leases: readonly LeaseRelease[]; now: Date }): readonly boolean[] {
  const { deliveries } = state.tables;
  return params.leases.map(({ deliveryId, leaseToken, dueAt }) => {
    const current = deliveries.get(deliveryId.toLowerCase());
    if (current === undefined || current.status !== "pending") return false;
    if (current.leaseToken === null || current.leaseToken !== leaseToken.toLowerCase()) return false;
    deliveries.set(current.id, { ...current, nextAttemptAt: dueAt ?? params.now, leaseToken: null, lockedUntil: null });
    return true;
  });
}

function nextDueAt(state: MemoryState): Date | null {
  let earliest: Date | null = null;
  for (const d of state.tables.deliveries.values()) {
    if (d.status !== "pending" || d.nextAttemptAt === null) continue;
    if (earliest === null || d.nextAttemptAt < earliest) earliest = d.nextAttemptAt;
  }
  return earliest === null ? null : new Date(earliest);
}

function getDelivery(state: MemoryState, id: string): DeliveryWithAttempts | null {
  if (!isUuid(id)) return null;
  const delivery = state.tables.deliveries.get(id.toLowerCase());
  if (delivery === undefined) return null;
  const attempts = (state.tables.attempts.get(delivery.id) ?? []).map((a) => ({ ...a }));
  const actions = state.tables.operatorActions.filter((a) => a.deliveryId === delivery.id).map((a) => ({ ...a }));
  return { delivery: publicDelivery(delivery), attempts, actions };
}

function redriveDelivery(state: MemoryState, { id, now, resend }: { id: string; now: Date; resend: boolean }): { outcome: RedriveOutcome; delivery: Delivery | null } {
  const current = isUuid(id) ? state.tables.deliveries.get(id.toLowerCase()) : undefined;
  if (current === undefined) return { outcome: "not_found", delivery: null };
  if (current.status === "sent" && !resend) return { outcome: "already_sent", delivery: null };
  const next = redriven(current, now);
  if (next === null) return { outcome: "in_flight", delivery: null };
  state.tables.deliveries.set(current.id, next);
  return { outcome: "redriven", delivery: publicDelivery(next) };
}

/**
 * The row an operator's re-drive (one delivery, or a replay's batch) leaves: pending and due at
 * `now`, with a fresh attempt budget unless it was pending already; null while an attempt holds it.
 */
export function redriven(d: StoredDelivery, now: Date): StoredDelivery | null {
  if (d.status === "pending" && d.lockedUntil !== null && d.lockedUntil > now) return null;
  const attemptBudgetStart = d.status === "pending" ? d.attemptBudgetStart : d.attempts;
  return { ...d, status: "pending", nextAttemptAt: now, attemptBudgetStart };
}

function cancelDelivery(state: MemoryState, { id }: { id: string; now: Date }): { outcome: CancelOutcome; delivery: Delivery | null } {
  const current = isUuid(id) ? state.tables.deliveries.get(id.toLowerCase()) : undefined;
  if (current === undefined) return { outcome: "not_found", delivery: null };
  if (current.status !== "pending") return { outcome: "not_pending", delivery: null };
  const next: StoredDelivery = { ...current, status: "failed", nextAttemptAt: null, lastError: "cancelled", leaseToken: null, lockedUntil: null };
  state.tables.deliveries.set(current.id, next);
  return { outcome: "cancelled", delivery: publicDelivery(next) };
}

function listDeliveries(state: MemoryState, params: { filter: DeliveryFilter; limit: number; beforeId?: string }): readonly Delivery[] {
  const { filter, limit, beforeId } = params;
  if ((filter.jobId !== undefined && !isUuid(filter.jobId)) || (beforeId !== undefined && !isUuid(beforeId))) return [];
  const matches = (d: StoredDelivery) => (beforeId === undefined || d.id < beforeId.toLowerCase()) && matchesFilter(d, filter);
  return [...state.tables.deliveries.values()]
    .filter(matches)
    .sort((a, b) => compare(b.id, a.id))
    .slice(0, Math.max(0, limit))
    .map(publicDelivery);
}

/** Whether a delivery passes a filter, as the Postgres adapter's `deliveryConditions` decide. */
export function matchesFilter(d: Delivery, filter: DeliveryFilter & { readonly jobIds?: readonly string[] }): boolean {
  return (
    (filter.status === undefined || d.status === filter.status) &&
    (filter.jobId === undefined || d.jobId === filter.jobId.toLowerCase()) &&
    (filter.jobIds === undefined || filter.jobIds.some((id) => id.toLowerCase() === d.jobId)) &&
    (filter.event === undefined || d.event === filter.event) &&
    (filter.origin === undefined || urlOrigin(d.url) === filter.origin) &&
    (filter.createdAfter === undefined || d.createdAt >= filter.createdAfter) &&
    (filter.createdBefore === undefined || d.createdAt < filter.createdBefore)
  );
}

function listDeliveriesForJob(state: MemoryState, jobId: string): readonly Delivery[] {
  if (!isUuid(jobId)) return [];
  const wanted = jobId.toLowerCase();
  return [...state.tables.deliveries.values()]
    .filter((d) => d.jobId === wanted)
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || compare(a.id, b.id))
    .map(publicDelivery);
}

/** The secrets of a delivery whose event carried its job: its own, or none. */
function carriedSecrets(secret: string | null) {
  return secret === null ? [] : [makeSecret(secret)];
}

/** A copy without the lease and carried-job columns, so callers can neither see nor change the stored row. */
function publicDelivery(d: StoredDelivery): Delivery {
  const { leaseToken: _token, lockedUntil: _until, carriedSecret: _secret, ...delivery } = d;
  return { ...delivery, payload: copyBytes(d.payload) };
}

function time(date: Date | null): number {
  return date === null ? Number.POSITIVE_INFINITY : date.getTime();
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
