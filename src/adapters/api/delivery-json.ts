import type { Delivery, DeliveryAttempt } from "../../domain/delivery.ts";
import { toBase64 } from "../../domain/encoding.ts";
import type { StoredDeadLetter } from "../../ports/dead-letters.ts";
import type { OperatorAction } from "../../ports/delivery-store.ts";
import { redactSecrets } from "./redact-secrets.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The API's view of a delivery (snake_case, as in the database). */
export function deliveryJson(delivery: Delivery) {
  return {
    id: delivery.id,
    webhook_id: delivery.webhookId,
    job_id: delivery.jobId,
    event: delivery.event,
    url: delivery.url,
    status: delivery.status,
    attempts: delivery.attempts,
    attempt_budget_start: delivery.attemptBudgetStart,
    next_attempt_at: delivery.status === "pending" ? iso(delivery.nextAttemptAt) : null,
    last_attempt_at: iso(delivery.lastAttemptAt),
    last_error: delivery.lastError,
    trace_id: delivery.traceId,
    created_at: iso(delivery.createdAt),
    payload: payloadJson(delivery.payload),
  };
}

export function attemptJson(attempt: DeliveryAttempt) {
  return {
    attempt_number: attempt.attemptNumber,
    started_at: iso(attempt.startedAt),
    duration_ms: attempt.durationMs,
    status_code: attempt.statusCode,
    error_kind: attempt.errorKind,
    error_message: attempt.errorMessage,
    response_body: attempt.responseBody,
    location: attempt.location,
    outcome: attempt.outcome,
  };
}

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

/** The exact bytes sent, shown as JSON when they are JSON (they always are when we built them). */
function payloadJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(payload));
  } catch {
    return { undecodable_bytes: payload.length };
  }
}

export function actionJson(action: OperatorAction) {
  return { action: action.action, result: action.result, created_at: iso(action.createdAt) };
}

/** A dead letter as the API shows it; raw bytes (the Kafka message and key) in base64, any webhook secret in them redacted. */
export function deadLetterJson(letter: StoredDeadLetter) {
  return {
    id: letter.id,
    source: letter.source,
    reason: letter.reason,
    job_id: letter.jobId,
    event: letter.event,
    trace_id: letter.traceId,
    topic: letter.topic,
    partition: letter.partition,
    offset: letter.offset,
    last_offset: letter.lastOffset,
    key_base64: letter.key === null ? null : toBase64(letter.key),
    raw_base64: letter.raw === null ? null : toBase64(redactSecrets(letter.raw)),
    created_at: iso(letter.createdAt),
  };
}
