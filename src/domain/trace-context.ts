/**
 * W3C Trace Context for webhooks: when an event's `trace_id` is a W3C trace id, each attempt
 * carries it to the receiver in a `traceparent` header, as a child span of its own.
 */

const TRACE_ID = /^[0-9a-f]{32}$/;
const ALL_ZERO = /^0+$/;

/** Whether `traceId` is a W3C trace id: 32 lowercase hex digits, not all zero. */
export function isW3cTraceId(traceId: string | null): traceId is string {
  return traceId !== null && TRACE_ID.test(traceId) && !ALL_ZERO.test(traceId);
}

/**
 * The `traceparent` of one attempt: version `00`, the event's trace id, `spanId` (16 lowercase
 * hex digits, not all zero: this attempt's span), and the sampled flag, so the receiver records it.
 */
export function traceparentOf(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

/**
 * A span id from a fresh UUID: its last 16 hex digits (random in UUIDv4 and UUIDv7, and never all
 * zero, because the variant bits there are `10`).
 */
export function spanIdFromUuid(uuid: string): string {
  return uuid.replaceAll("-", "").slice(16).toLowerCase();
}
