import type { BackoffPolicy } from "../domain/backoff.ts";
import type { DeliveryAttempt, NextState } from "../domain/delivery.ts";
import { decideNextState, outcomeOf } from "../domain/next-state.ts";
import { decodeResponseSnippet, RESPONSE_SNIPPET_BYTES } from "../domain/response-snippet.ts";
import { classifySendResult, type Verdict } from "../domain/error-classifier.ts";
import { failureReasonOf, statusClassOf } from "../domain/metric-labels.ts";
import type { SendError, SendErrorKind, SendResult } from "../domain/send-result.ts";
import { signWebhook, validateSecret, type HmacSha256 } from "../domain/signer.ts";
import { isW3cTraceId, traceparentOf } from "../domain/trace-context.ts";
import { checkWebhookUrl } from "../domain/webhook-url.ts";
import type { Clock } from "../ports/clock.ts";
import type { ClaimedDelivery, DeliveryStore } from "../ports/delivery-store.ts";
import type { LogFields, Logger } from "../ports/logger.ts";
import { type Metrics, noopMetrics } from "../ports/metrics.ts";
import type { WebhookSender } from "../ports/webhook-sender.ts";
import { deliveryLogFields } from "../shared/delivery-log-fields.ts";
import { errorText } from "../shared/error-text.ts";
import { retryWithBackoff } from "../shared/retry-with-backoff.ts";

export interface DeliverOneDeps {
  readonly deliveries: DeliveryStore;
  readonly sender: WebhookSender;
  readonly hmac: HmacSha256;
  readonly clock: Clock;
  /** Uniform in [0, 1); spreads retries (jitter). */
  readonly random: () => number;
  readonly backoff: BackoffPolicy;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** A fresh span id (16 lowercase hex digits, not all zero) for each attempt's `traceparent`. */
  readonly newSpanId: () => string;
  /** Counts each recorded attempt, and each delivery once it is final. */
  readonly metrics?: Metrics;
}

export interface DeliveryResult {
  readonly next: NextState;
  /** False when the lease was lost before completion: another worker owns the delivery now. */
  readonly recorded: boolean;
}

/**
 * Makes one attempt at a claimed delivery: sign, send, classify, then record the attempt and the
 * next state in one fenced write. Nothing is sent when the delivery cannot be sent safely (job
 * gone, unusable secret, invalid URL); those fail at once. `freeDestination` is called once the
 * exchange with the receiver is over (or when nothing was sent), before the write.
 */
export async function deliverOne(deps: DeliverOneDeps, delivery: ClaimedDelivery, freeDestination: () => void = () => {}): Promise<DeliveryResult> {
  const startedAt = deps.clock.now();
  const attemptNumber = delivery.attempts + 1;
  const deliveryFields = deliveryLogFields(delivery, attemptNumber);
  const refusal = refusalOf(delivery);
  const result: SendResult =
    refusal ??
    (await deps.sender.send({
      url: delivery.url,
      headers: await headersOf(deps, delivery, startedAt),
      body: delivery.payload,
      timeoutMs: deps.timeoutMs,
    }));
  freeDestination();
  const verdict: Verdict = refusal ? { kind: "permanent", error: refusal.message } : classifySendResult(result);
  const next = decideNextState({
    // Only the attempts of the current budget count: an operator's retry starts a fresh one.
    attemptsMade: attemptNumber - delivery.attemptBudgetStart,
    verdict,
    policy: deps.backoff,
    now: deps.clock.now(),
    random: deps.random(),
  });
  const attempt = attemptRecord(delivery.id, attemptNumber, startedAt, result, next);
  const recorded = await recordAttempt(deps, delivery, deliveryFields, () =>
    deps.deliveries.completeAttempt({ deliveryId: delivery.id, leaseToken: delivery.leaseToken, attempt, next }),
  );
  const fields = {
    ...deliveryFields,
    status_code: attempt.statusCode,
    error_kind: attempt.errorKind,
    duration_ms: attempt.durationMs,
    outcome: next.kind,
    ...(next.kind === "retry" ? { next_attempt_at: next.at.toISOString() } : {}),
    ...(next.kind !== "sent" ? { error: next.error } : {}),
  };
  if (recorded) countAttempt(deps.metrics ?? noopMetrics, delivery, attempt, next, deps.clock.now());
  if (!recorded) deps.logger.warn("attempt not recorded: its lease was given back or lost to another worker", fields);
  else if (next.kind === "failed") deps.logger.warn("delivery failed", fields);
  else deps.logger.info(next.kind === "sent" ? "delivery sent" : "delivery will be retried", fields);
  return { next, recorded };
}

/** Reports a recorded attempt and, when it ended the delivery, the delivery: its attempts and its latency since acceptance. */
function countAttempt(metrics: Metrics, delivery: ClaimedDelivery, attempt: DeliveryAttempt, next: NextState, now: Date): void {
  metrics.attemptRecorded({ outcome: attempt.outcome, statusClass: statusClassOf(attempt.statusCode), durationSeconds: attempt.durationMs / 1000 });
  if (next.kind === "retry") return;
  const made = { attempts: attempt.attemptNumber, latencySeconds: Math.max(0, now.getTime() - delivery.createdAt.getTime()) / 1000 };
  metrics.deliveryEnded(next.kind === "sent" ? { outcome: "sent" } : { outcome: "failed", reason: failureReasonOf(attempt) }, made);
}

/** First wait before writing an attempt again after a database error, ms; doubles up to the cap. */
const RECORD_RETRY_START_MS = 100;
const RECORD_RETRY_MAX_MS = 5_000;

/** The attempt's headers: signed for `startedAt`, and a `traceparent` when the event's trace id is a W3C one (any other is only stored and logged). */
async function headersOf(deps: DeliverOneDeps, delivery: ClaimedDelivery, startedAt: Date): Promise<Record<string, string>> {
  const headers = await signWebhook({
    hmac: deps.hmac,
    webhookId: delivery.webhookId,
    timestampSeconds: Math.floor(startedAt.getTime() / 1000),
    body: delivery.payload,
    secrets: delivery.secrets ?? [],
  });
  if (isW3cTraceId(delivery.traceId)) headers["traceparent"] = traceparentOf(delivery.traceId, deps.newSpanId());
  return headers;
}

/**
 * Writes the attempt, retrying database errors while the lease lasts: the request has been sent,
 * and giving up early would make the delivery due again at lease expiry and send it twice.
 * Throws the last error once the lease has run out.
 */
function recordAttempt(deps: DeliverOneDeps, delivery: ClaimedDelivery, deliveryFields: LogFields, write: () => Promise<boolean>): Promise<boolean> {
  return retryWithBackoff(write, {
    firstWaitMs: RECORD_RETRY_START_MS,
    maxWaitMs: RECORD_RETRY_MAX_MS,
    onFailure: (error, waitMs) => {
      const remainingMs = delivery.leaseExpiresAt.getTime() - deps.clock.now().getTime();
      if (remainingMs <= waitMs) return false;
      deps.logger.warn("could not record the attempt; retrying", { ...deliveryFields, error: errorText(error), retry_in_ms: waitMs });
      return true;
    },
  });
}

/**
 * Reasons not to send at all; each is permanent, since retrying would not change it. Expressed
 * as a send error so the attempt row reads like any other.
 */
function refusalOf(delivery: ClaimedDelivery): SendError | null {
  const refuse = (error: SendErrorKind, message: string): SendError => ({ kind: "error", error, message, durationMs: 0 });
  if (delivery.secrets === null) return refuse("job_missing", "job_missing: the job no longer exists; nothing was sent");
  for (const secret of delivery.secrets) {
    const problem = validateSecret(secret.reveal());
    if (problem !== null) return refuse("invalid_secret", `invalid_secret: ${problem}; nothing was sent`);
  }
  const url = checkWebhookUrl(delivery.url);
  if (!url.ok) return refuse("invalid_url", url.reason);
  return null;
}

function attemptRecord(
  deliveryId: string,
  attemptNumber: number,
  startedAt: Date,
  result: SendResult,
  next: NextState,
): DeliveryAttempt {
  const response = result.kind === "response" ? result : null;
  return {
    deliveryId,
    attemptNumber,
    startedAt,
    durationMs: Math.round(result.durationMs),
    statusCode: response?.status ?? null,
    errorKind: result.kind === "error" ? result.error : null,
    errorMessage: result.kind === "error" ? result.message : next.kind === "sent" ? null : next.error,
    responseBody: response ? decodeResponseSnippet(response.bodySnippet, RESPONSE_SNIPPET_BYTES) : null,
    location: response?.location ?? null,
    outcome: outcomeOf(next),
  };
}
