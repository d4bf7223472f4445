import type { SendErrorKind } from "./send-result.ts";

/**
 * Label values for metrics. Each function maps onto a small fixed set, so that no label takes
 * unbounded values (a status code, a URL or an error message would make a series per value).
 */

/** The class of an attempt's HTTP status; `none` when no response arrived. */
export type StatusClass = "1xx" | "2xx" | "3xx" | "4xx" | "5xx" | "other" | "none";

export function statusClassOf(statusCode: number | null): StatusClass {
  if (statusCode === null) return "none";
  if (statusCode >= 100 && statusCode <= 599) return `${Math.floor(statusCode / 100)}xx` as StatusClass;
  return "other";
}

/**
 * Why a delivery failed, from its last attempt: the receiver's answer (`http_4xx`, `http_5xx`,
 * `http_other` for 1xx, 3xx and codes outside 100–599), no answer (`timeout`, `network`), or
 * nothing sent at all (`not_sent`: an invalid URL, a blocked destination, a missing job or an
 * unusable secret).
 */
export type FailureReason = "http_4xx" | "http_5xx" | "http_other" | "timeout" | "network" | "not_sent";

const ERROR_REASONS: Readonly<Record<SendErrorKind, FailureReason>> = {
  timeout: "timeout",
  connection_refused: "network",
  connection_reset: "network",
  dns_failure: "network",
  tls_error: "network",
  network_error: "network",
  invalid_url: "not_sent",
  blocked_destination: "not_sent",
  job_missing: "not_sent",
  invalid_secret: "not_sent",
};

export function failureReasonOf(attempt: { readonly statusCode: number | null; readonly errorKind: SendErrorKind | null }): FailureReason {
  if (attempt.statusCode !== null) {
    const statusClass = statusClassOf(attempt.statusCode);
    return statusClass === "4xx" ? "http_4xx" : statusClass === "5xx" ? "http_5xx" : "http_other";
  }
  return attempt.errorKind === null ? "network" : ERROR_REASONS[attempt.errorKind];
}

/** Longest reason code used as a label value; longer ones are `other`. */
const MAX_REASON_CODE_CHARS = 40;

/**
 * The code of a dead letter's reason, the part before the first `:` (`unknown_job`,
 * `invalid_json`, …), as a label value. Every reason the dispatcher writes starts with such a
 * code; anything else (free text) is `other`, so the label stays bounded.
 */
export function reasonCodeOf(reason: string): string {
  const colon = reason.indexOf(":");
  const code = colon === -1 ? reason : reason.slice(0, colon);
  return code.length <= MAX_REASON_CODE_CHARS && /^[a-z][a-z0-9_]*$/.test(code) ? code : "other";
}
