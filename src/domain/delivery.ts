import type { SendErrorKind } from "./send-result.ts";

export type DeliveryStatus = "pending" | "sent" | "failed";

/** One webhook to deliver: one per (job_id, event). `payload` is signed and sent byte for byte on every attempt. */
export interface Delivery {
  readonly id: string;
  /** Stable across retries; the receiver's idempotency key (`webhook-id` header). Contains no `.`. */
  readonly webhookId: string;
  readonly jobId: string;
  readonly event: string;
  readonly url: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far. */
  readonly attempts: number;
  /**
   * Attempts made before the current attempt budget began: 0, or `attempts` at the moment an
   * operator re-drove the delivery. Only attempts after it count against the maximum.
   */
  readonly attemptBudgetStart: number;
  readonly payload: Uint8Array;
  /** When the next attempt is due; null once the delivery is final. */
  readonly nextAttemptAt: Date | null;
  readonly lastAttemptAt: Date | null;
  readonly lastError: string | null;
  readonly traceId: string | null;
  readonly createdAt: Date;
}

/** How one attempt ended, and so what the delivery does next. */
export type AttemptOutcome = "sent" | "retry" | "failed";

/** The record of one attempt, one row in `webhook_delivery_attempts`. */
export interface DeliveryAttempt {
  readonly deliveryId: string;
  /** 1-based. */
  readonly attemptNumber: number;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** HTTP status, when a response arrived. */
  readonly statusCode: number | null;
  /** Error kind, when no response arrived (or the request was refused before sending). */
  readonly errorKind: SendErrorKind | null;
  readonly errorMessage: string | null;
  /** The first few KiB of the response body, decoded as UTF-8 with invalid bytes replaced and NULs removed. */
  readonly responseBody: string | null;
  /** The `Location` header of a 3xx (never followed). */
  readonly location: string | null;
  readonly outcome: AttemptOutcome;
}

/** The state a delivery moves to after an attempt. */
export type NextState =
  | { readonly kind: "sent" }
  | { readonly kind: "retry"; readonly at: Date; readonly error: string }
  | { readonly kind: "failed"; readonly error: string };
