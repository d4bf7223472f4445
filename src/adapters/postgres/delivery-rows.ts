import type { Delivery, DeliveryAttempt, DeliveryStatus, AttemptOutcome } from "../../domain/delivery.ts";
import { signingSecretsOf } from "../../domain/job.ts";
import type { SendErrorKind } from "../../domain/send-result.ts";
import type { ClaimedDelivery, OperatorAction } from "../../ports/delivery-store.ts";
import type { OperatorActionRow } from "./sql/operator-actions.ts";
import { secretOf } from "./job-rows.ts";
import { toBytes } from "./sql-client.ts";

/** A `webhook_deliveries` row as postgres.js returns it. */
export interface DeliveryRow {
  id: string;
  webhook_id: string;
  job_id: string;
  event: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  attempt_budget_start: number;
  payload: Uint8Array;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_error: string | null;
  trace_id: string | null;
  created_at: Date;
}

/** A delivery row the claim leased, with its job's secret (`job_exists` is false once the job row is gone). */
export interface ClaimedRow extends DeliveryRow {
  lease_token: string;
  locked_until: Date;
  job_exists: boolean;
  webhook_secret: string | null;
}

/** A `webhook_delivery_attempts` row as postgres.js returns it. */
export interface AttemptRow {
  delivery_id: string;
  attempt_number: number;
  started_at: Date;
  duration_ms: number;
  status_code: number | null;
  error_kind: SendErrorKind | null;
  error_message: string | null;
  response_body: string | null;
  location: string | null;
  outcome: AttemptOutcome;
}

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    jobId: row.job_id,
    event: row.event,
    url: row.url,
    status: row.status,
    attempts: row.attempts,
    attemptBudgetStart: row.attempt_budget_start,
    payload: toBytes(row.payload),
    nextAttemptAt: row.next_attempt_at,
    lastAttemptAt: row.last_attempt_at,
    lastError: row.last_error,
    traceId: row.trace_id,
    createdAt: row.created_at,
  };
}

export function toClaimedDelivery(row: ClaimedRow): ClaimedDelivery {
  return {
    ...toDelivery(row),
    leaseToken: row.lease_token,
    leaseExpiresAt: row.locked_until,
    secrets: signingSecretsOf(row.job_exists ? { webhookSecret: secretOf(row.webhook_secret) } : undefined),
  };
}

export function toAttempt(row: AttemptRow): DeliveryAttempt {
  return {
    deliveryId: row.delivery_id,
    attemptNumber: row.attempt_number,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    statusCode: row.status_code,
    errorKind: row.error_kind,
    errorMessage: row.error_message,
    responseBody: row.response_body,
    location: row.location,
    outcome: row.outcome,
  };
}

export function toOperatorAction(row: OperatorActionRow): OperatorAction {
  return { deliveryId: row.delivery_id, action: row.action, result: row.result, createdAt: row.created_at, replayId: row.replay_id };
}
