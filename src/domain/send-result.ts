/**
 * What happened when one webhook request was sent. Produced by the webhook-sender port,
 * judged by the error classifier. Never an exception: every failure is a value.
 */
export type SendResult = SendResponse | SendError;

export interface SendResponse {
  readonly kind: "response";
  /** HTTP status code of the receiver's answer. */
  readonly status: number;
  /** The raw `Retry-After` header, if any. */
  readonly retryAfter: string | null;
  /** The raw `Location` header, if any (redirects are recorded, never followed). */
  readonly location: string | null;
  /** The first bytes of the response body, at most the sender's snippet cap. */
  readonly bodySnippet: Uint8Array;
  /** True when the body was longer than what was read. */
  readonly bodyTruncated: boolean;
  /** Wall time from the start of the request to the end of reading, in ms. */
  readonly durationMs: number;
}

/** Error kinds the classifier understands; adapters map runtime errors onto these. */
export type SendErrorKind =
  | "timeout"
  | "connection_refused"
  | "connection_reset"
  | "dns_failure"
  | "tls_error"
  | "network_error"
  | "invalid_url"
  | "blocked_destination"
  // Refusals before anything is sent: the job row is gone, or its secret is unusable.
  | "job_missing"
  | "invalid_secret";

export interface SendError {
  readonly kind: "error";
  readonly error: SendErrorKind;
  /** A human-readable description; never contains a secret. */
  readonly message: string;
  readonly durationMs: number;
}
