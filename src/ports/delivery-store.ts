import type { Delivery, DeliveryAttempt, DeliveryStatus, NextState } from "../domain/delivery.ts";
import type { Secret } from "../domain/secret.ts";

export interface NewDelivery {
  readonly id: string;
  readonly webhookId: string;
  readonly jobId: string;
  readonly event: string;
  readonly url: string;
  readonly payload: Uint8Array;
  readonly traceId: string | null;
  /** Creation time; also when the first attempt is due. */
  readonly createdAt: Date;
  /**
   * Why the delivery can never be sent (e.g. an invalid URL), or null. A rejected delivery is
   * stored as `failed` at once with this as its last error, and is never claimed.
   */
  readonly rejection: string | null;
  /**
   * Created already leased to the caller, who is about to attempt it: not claimable until
   * `expiresAt` (then due by itself, like any expired lease). Saves the claim of a delivery
   * made in a process that has a free slot for it. Ignored for a rejected delivery.
   */
  readonly lease?: DeliveryLease | null;
  /**
   * Set when the event carried its job: the secret that signs every attempt is stored with the
   * delivery (null: unsigned), since no `jobs` row holds it. Absent or null: the claim reads the
   * secret from the job's row, as for any other delivery.
   */
  readonly carriedJob?: { readonly secret: Secret | null } | null;
}

export interface DeliveryLease {
  readonly token: string;
  readonly expiresAt: Date;
}

/** A delivery leased to one worker. Its completion must present `leaseToken`. */
export interface ClaimedDelivery extends Delivery {
  readonly leaseToken: string;
  /** When the lease expires and the delivery becomes claimable again. */
  readonly leaseExpiresAt: Date;
  /**
   * The signing secrets, newest first, read from the job at claim time (or stored with the
   * delivery when its event carried the job). `null` when the job row no longer exists.
   */
  readonly secrets: readonly Secret[] | null;
}

export interface CompleteAttempt {
  readonly deliveryId: string;
  readonly leaseToken: string;
  readonly attempt: DeliveryAttempt;
  readonly next: NextState;
}

export interface DeliveryWithAttempts {
  readonly delivery: Delivery;
  /** Ordered by attempt number. */
  readonly attempts: readonly DeliveryAttempt[];
  /** What operators did to it, oldest first. */
  readonly actions: readonly OperatorAction[];
}

/** One operator action on a delivery, as recorded. */
export interface OperatorAction {
  readonly deliveryId: string;
  /** `retry`, `resend`, `cancel`, or `replay` (re-driven by a bulk replay). */
  readonly action: OperatorActionKind;
  /** What came of it: `redriven`, `cancelled`, or why nothing changed (`already_sent`, `in_flight`, `not_pending`). */
  readonly result: string;
  readonly createdAt: Date;
  /** The replay that re-drove the delivery, for a `replay` action. */
  readonly replayId?: string | null;
}

export type OperatorActionKind = "retry" | "resend" | "cancel" | "replay";

/**
 * What an operator's retry did: `redriven` (pending and due now; a failed or sent delivery with a
 * fresh attempt budget), or nothing because it was `already_sent` (and no resend was asked),
 * `in_flight` (an attempt holds its lease), or `not_found`.
 */
export type RedriveOutcome = "redriven" | "already_sent" | "in_flight" | "not_found";

/** What an operator's cancel did: `cancelled`, or nothing because it was `not_pending` or `not_found`. */
export type CancelOutcome = "cancelled" | "not_pending" | "not_found";

/** Which deliveries to list; every field narrows the list, none widens it. */
export interface DeliveryFilter {
  readonly status?: DeliveryStatus;
  readonly jobId?: string;
  readonly event?: string;
  /** `scheme://host[:port]` of the URL as written, lowercase (see `domain/url-origin.ts`). */
  readonly origin?: string;
  /** Created at or after this time. */
  readonly createdAfter?: Date;
  /** Created before this time. */
  readonly createdBefore?: Date;
}

/** A lease held on one delivery: which delivery, and the token that proves the lease. */
export interface LeaseRef {
  readonly deliveryId: string;
  readonly leaseToken: string;
}

/** A lease to give back, and when its delivery is due again (by default, the release's `now`). */
export interface LeaseRelease extends LeaseRef {
  readonly dueAt?: Date;
}

/**
 * Durable state of deliveries and their attempts. Retries live here (`nextAttemptAt`), never
 * in memory.
 */
export interface DeliveryStore {
  /**
   * Inserts deliveries in one statement. Idempotent on (jobId, event): a pair that already
   * exists is left as it is. Returns the ids of the rows this call created.
   */
  createDeliveries(rows: readonly NewDelivery[]): Promise<readonly string[]>;

  /**
   * Atomically leases up to `limit` pending deliveries whose next attempt is due at `now`
   * (oldest due first), skipping rows other workers hold. Each claimed row gets a fresh lease
   * token and is not claimable again until `now + leaseMs`, when it becomes due again by itself
   * if its worker died.
   */
  claimDueDeliveries(params: { now: Date; limit: number; leaseMs: number }): Promise<readonly ClaimedDelivery[]>;

  /**
   * Records an attempt and moves the delivery to `next`, atomically and only if `leaseToken`
   * still holds the lease. Returns false (and changes nothing) when the lease was lost.
   */
  completeAttempt(params: CompleteAttempt): Promise<boolean>;

  /**
   * `completeAttempt` for many deliveries in one statement: each item is fenced by its own
   * token; returns, in order, whether each one's lease still held. All or nothing on error.
   */
  completeAttempts(items: readonly CompleteAttempt[]): Promise<readonly boolean[]>;

  /**
   * Gives leases back without an attempt (graceful shutdown, or a destination at its limit),
   * in one statement: each delivery is due again at its `dueAt`, or at `now`. Fenced by the
   * token like completion; returns, per lease in order, false when it was lost.
   */
  releaseLeases(params: { leases: readonly LeaseRelease[]; now: Date }): Promise<readonly boolean[]>;

  /** The earliest `nextAttemptAt` among pending deliveries (leased ones count at lease expiry), or null. */
  nextDueAt(): Promise<Date | null>;

  getDelivery(id: string): Promise<DeliveryWithAttempts | null>;

  /**
   * An operator's retry, in one statement: a failed delivery — or a sent one when `resend` — becomes
   * pending, due at `now`, with a fresh attempt budget (`attemptBudgetStart` = `attempts`); a pending
   * one not leased becomes due at `now`. A leased one (an attempt in flight) is left alone.
   * Returns the outcome and the delivery as it is afterwards (null when not found).
   */
  redriveDelivery(params: { id: string; now: Date; resend: boolean }): Promise<{ outcome: RedriveOutcome; delivery: Delivery | null }>;

  /**
   * An operator's cancel, in one statement: a pending delivery becomes failed with last error
   * `cancelled` and its lease is dropped, so an attempt in flight can no longer record itself.
   */
  cancelDelivery(params: { id: string; now: Date }): Promise<{ outcome: CancelOutcome; delivery: Delivery | null }>;

  /** Records an operator action (the delivery must exist). */
  recordOperatorAction(action: OperatorAction): Promise<void>;

  /**
   * Deliveries matching `filter`, newest first by id (ids are time-ordered), at most `limit`;
   * with `beforeId`, only those whose id sorts before it: a keyset page that stays stable while
   * rows are inserted. A malformed `beforeId` or `filter.jobId` matches nothing.
   */
  listDeliveries(params: { filter: DeliveryFilter; limit: number; beforeId?: string }): Promise<readonly Delivery[]>;

  /** Deliveries of one job, oldest first. Unknown or malformed job ids give an empty list. */
  listDeliveriesForJob(jobId: string): Promise<readonly Delivery[]>;
}
