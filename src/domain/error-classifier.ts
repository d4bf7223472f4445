import type { SendErrorKind, SendResult } from "./send-result.ts";

/** What one send means for the delivery. `error` is short, human and never holds a secret. */
export type Verdict =
  | { readonly kind: "success" }
  | { readonly kind: "retryable"; readonly error: string; readonly retryAfter: string | null }
  | { readonly kind: "permanent"; readonly error: string };

// Failures that say nothing about the receiver's willingness to take the webhook: the next
// attempt may well reach it. The others are refusals before or instead of sending (bad URL,
// forbidden destination, job row gone, unusable secret) and will be just as wrong next time.
const RETRYABLE_ERRORS: Readonly<Record<SendErrorKind, boolean>> = {
  timeout: true,
  connection_refused: true,
  connection_reset: true,
  dns_failure: true,
  tls_error: true,
  network_error: true,
  invalid_url: false,
  blocked_destination: false,
  job_missing: false,
  invalid_secret: false,
};

// A Location header is receiver-controlled; keep the recorded error short whatever it sends.
const MAX_LOCATION_CHARS = 500;

/**
 * Judges one send (docs/webhooks.md, "What counts as success"):
 * - 2xx → success.
 * - 3xx → retryable; redirects are never followed, the Location is put in the error so
 *   operators see where the receiver moved.
 * - 408, 429 → retryable (the receiver asks us to come back); other 4xx, 410 included →
 *   permanent, repeating the same request cannot change the answer.
 * - 5xx → retryable.
 * - 1xx as a final status and codes outside 100–599 → retryable: they are protocol anomalies
 *   (a misbehaving proxy, a half-deployed receiver), not a refusal of the webhook, so they get
 *   the bounded retry schedule rather than an immediate, unrecoverable failure.
 * `retryAfter` is passed on only for 429 and 503, the statuses for which HTTP defines it.
 */
export function classifySendResult(result: SendResult): Verdict {
  if (result.kind === "error") {
    const error = result.message === "" ? result.error : `${result.error}: ${result.message}`;
    return RETRYABLE_ERRORS[result.error]
      ? { kind: "retryable", error, retryAfter: null }
      : { kind: "permanent", error };
  }
  const { status } = result;
  if (status >= 200 && status <= 299) return { kind: "success" };
  if (status >= 300 && status <= 399) {
    return { kind: "retryable", error: redirectError(status, result.location), retryAfter: null };
  }
  const error = `HTTP ${status}`;
  if (status >= 400 && status <= 499 && status !== 408 && status !== 429) {
    return { kind: "permanent", error };
  }
  const retryAfter = status === 429 || status === 503 ? result.retryAfter : null;
  return { kind: "retryable", error, retryAfter };
}

function redirectError(status: number, location: string | null): string {
  if (location === null || location.trim() === "") return `HTTP ${status} redirect without Location (not followed)`;
  const shown = location.length > MAX_LOCATION_CHARS ? `${location.slice(0, MAX_LOCATION_CHARS)}…` : location;
  return `HTTP ${status} redirect to ${shown} (not followed)`;
}
