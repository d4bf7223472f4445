import { z } from "@hono/zod-openapi";
import type { Delivery, DeliveryAttempt } from "../../domain/delivery.ts";
import { toBase64 } from "../../domain/encoding.ts";
import type { StoredDeadLetter } from "../../ports/dead-letters.ts";
import type { OperatorAction } from "../../ports/delivery-store.ts";
import { redactSecrets } from "./redact-secrets.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

// The schemas of the views below, for the OpenAPI document; each view's return type is its schema's,
// so the compiler keeps the two in step.
const Timestamp = z.iso.datetime().openapi({ description: "RFC 3339, UTC", example: "2030-01-01T00:00:00.000Z" });
const UuidText = z.string().openapi({ format: "uuid" });

export const DeliveryView = z
  .object({
    id: UuidText,
    webhook_id: z.string().openapi({ description: "The receiver's idempotency key (`webhook-id` header), stable across retries" }),
    job_id: UuidText,
    event: z.string(),
    url: z.string(),
    status: z.enum(["pending", "sent", "failed"]),
    attempts: z.int().min(0),
    attempt_budget_start: z.int().min(0).openapi({ description: "Attempts made before the current attempt budget began (an operator's retry starts a new one)" }),
    next_attempt_at: Timestamp.nullable().openapi({ description: "When the next attempt is due; null unless pending" }),
    last_attempt_at: Timestamp.nullable(),
    last_error: z.string().nullable(),
    trace_id: z.string().nullable(),
    created_at: Timestamp,
    payload: z.unknown().openapi({ description: "The exact body sent, as JSON; `{\"undecodable_bytes\": n}` if it is not JSON" }),
  })
  .openapi("Delivery");

export const AttemptView = z
  .object({
    attempt_number: z.int().min(1),
    started_at: Timestamp,
    duration_ms: z.number().min(0),
    status_code: z.int().nullable().openapi({ description: "The HTTP status, when a response arrived" }),
    error_kind: z
      .enum(["timeout", "connection_refused", "connection_reset", "dns_failure", "tls_error", "network_error", "invalid_url", "blocked_destination", "job_missing", "invalid_secret"])
      .nullable()
      .openapi({ description: "Why no response arrived (or nothing was sent)" }),
    error_message: z.string().nullable(),
    response_body: z.string().nullable().openapi({ description: "The first 4 KiB of the response body" }),
    location: z.string().nullable().openapi({ description: "The `Location` header of a 3xx (never followed)" }),
    outcome: z.enum(["sent", "retry", "failed"]),
  })
  .openapi("Attempt");

export const ActionView = z
  .object({
    action: z.enum(["retry", "resend", "cancel", "replay"]),
    result: z.string().openapi({ description: "`redriven`, `cancelled`, or why nothing changed (`already_sent`, `in_flight`, `not_pending`)" }),
    created_at: Timestamp,
    replay_id: z.string().optional().openapi({ format: "uuid", description: "The replay that re-drove the delivery, on a `replay` action" }),
  })
  .openapi("OperatorAction");

export const DeadLetterView = z
  .object({
    id: z.string().openapi({ description: "A whole number, as text" }),
    source: z.enum(["outbox", "kafka", "api"]),
    reason: z.string().openapi({ description: "A reason code, then detail after the first `:`", example: "invalid_json: Unexpected token" }),
    job_id: z.string().nullable(),
    event: z.string().nullable(),
    trace_id: z.string().nullable(),
    topic: z.string().nullable(),
    partition: z.int().nullable(),
    offset: z.string().nullable().openapi({ description: "The Kafka offset, as text" }),
    last_offset: z.string().nullable().openapi({ description: "The last offset when the letter stands for a range of records" }),
    key_base64: z.string().nullable(),
    raw_base64: z.string().nullable().openapi({ description: "The Kafka message bytes" }),
    created_at: Timestamp,
    reprocessed_at: Timestamp.nullable().openapi({ description: "When an operator reprocessed it into a delivery" }),
    delivery_id: z.string().nullable().openapi({ format: "uuid", description: "The delivery it became, once reprocessed" }),
  })
  .openapi("DeadLetter");

/** The API's view of a delivery (snake_case, as in the database). */
export function deliveryJson(delivery: Delivery): z.infer<typeof DeliveryView> {
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

export function attemptJson(attempt: DeliveryAttempt): z.infer<typeof AttemptView> {
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

function iso(date: Date): string;
function iso(date: Date | null): string | null;
function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** The exact bytes sent, shown as JSON when they are JSON (they always are when we built them). */
function payloadJson(payload: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(payload));
  } catch {
    return { undecodable_bytes: payload.length };
  }
}

export function actionJson(action: OperatorAction): z.infer<typeof ActionView> {
  const base = { action: action.action, result: action.result, created_at: iso(action.createdAt) };
  return action.replayId == null ? base : { ...base, replay_id: action.replayId };
}

/** A dead letter as the API shows it; raw bytes (the Kafka message and key) in base64, any webhook secret in them redacted. */
export function deadLetterJson(letter: StoredDeadLetter): z.infer<typeof DeadLetterView> {
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
    reprocessed_at: iso(letter.reprocessedAt),
    delivery_id: letter.deliveryId,
  };
}
