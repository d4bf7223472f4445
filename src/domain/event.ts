import { type CarriedJob, parseCarriedJob } from "./carried-job.ts";
import { isUuid } from "./uuid.ts";

/** A "job finished" event as producers publish it (Kafka, outbox, `POST /v1/events`). */
export interface WebhookEvent {
  /** Lowercase UUID. */
  readonly jobId: string;
  /** e.g. `job.succeeded`; 1–200 characters of `[A-Za-z0-9._-]`. */
  readonly event: string;
  /** Opaque, at most 256 characters; null when absent. */
  readonly traceId: string | null;
  /** The finished job, when the event carries it; absent when it is to be read from `jobs`. */
  readonly job?: CarriedJob;
}

export type ParsedEvent = { readonly ok: true; readonly event: WebhookEvent } | { readonly ok: false; readonly reason: string };

/** 64 KiB: a real event is about 150 bytes, so anything near this is not an event. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024;
/** The webhook body limit when the caller names none (WEBHOOK_MAX_PAYLOAD's default), bytes. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * What an event that carries its job may add to the job's webhook body, bytes: its own fields,
 * the URL and the secret. 64 KiB, the limit of an event without a job, so neither is squeezed.
 */
export const JOB_EVENT_ENVELOPE_BYTES = 64 * 1024;

export interface EventSizeLimits {
  /** Largest event without a job, bytes; 64 KiB by default. */
  readonly maxBytes?: number;
  /** Largest webhook body (WEBHOOK_MAX_PAYLOAD), bytes; 1 MiB by default. */
  readonly maxPayloadBytes?: number;
}

/**
 * Largest event that carries its job, bytes: the webhook body limit plus the envelope, so a job
 * whose body just fits is never refused for the event around it. Never below `maxBytes`.
 */
export function maxJobEventBytes(limits: EventSizeLimits = {}): number {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  return Math.max(maxBytes, (limits.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES) + JOB_EVENT_ENVELOPE_BYTES);
}

const EVENT_NAME = /^[A-Za-z0-9._-]{1,200}$/;
const MAX_TRACE_ID_CHARS = 256;

// fatal: a message with invalid UTF-8 is dead-lettered as such rather than parsed with U+FFFD in it.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8 = new TextEncoder();

/**
 * Parses and validates an event. `value` is the message bytes (Kafka), JSON text, or an
 * already-decoded object (outbox, API). Failure reasons are a machine-readable prefix
 * (`invalid_utf8`, `invalid_json`, `not_an_object`, `missing_field`, `invalid_field`,
 * `too_large`) plus detail, and are stored in the dead-letter table as they are.
 * The size limits apply to bytes and text; a decoded object was already bounded by its reader.
 * An event is at most `maxBytes`, or `maxJobEventBytes(options)` when it carries its job.
 */
export function parseWebhookEvent(value: unknown, options: EventSizeLimits = {}): ParsedEvent {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_EVENT_BYTES;
  let decoded: unknown = value;
  let size = 0;
  if (value instanceof Uint8Array || typeof value === "string") {
    size = typeof value === "string" ? utf8.encode(value).length : value.length;
    const maxWithJob = maxJobEventBytes(options);
    if (size > maxWithJob) return fail(`too_large: ${size} bytes (max ${maxWithJob} for an event with its job)`);
    const text = typeof value === "string" ? value : decodeUtf8(value);
    if (text === null) return fail("invalid_utf8");
    const parsed = parseJson(text);
    if (!parsed.ok) return fail(`invalid_json: ${parsed.message}`);
    decoded = parsed.value;
  }
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) return fail("not_an_object");
  const fields = decoded as Record<string, unknown>;
  const carriesJob = fields["job"] !== undefined && fields["job"] !== null;
  if (!carriesJob && size > maxBytes) return fail(`too_large: ${size} bytes (max ${maxBytes} for an event without a job)`);
  return validateFields(fields);
}

function validateFields(fields: Record<string, unknown>): ParsedEvent {
  const jobId = fields["job_id"];
  if (jobId === undefined || jobId === null) return fail("missing_field: job_id");
  if (typeof jobId !== "string" || !isUuid(jobId)) return fail("invalid_field: job_id must be a UUID");

  const event = fields["event"];
  if (event === undefined || event === null) return fail("missing_field: event");
  if (typeof event !== "string" || !EVENT_NAME.test(event)) {
    return fail("invalid_field: event must be a non-empty string of at most 200 characters of [A-Za-z0-9._-]");
  }

  const traceId = fields["trace_id"] ?? null;
  if (traceId !== null && (typeof traceId !== "string" || traceId.length > MAX_TRACE_ID_CHARS)) {
    return fail(`invalid_field: trace_id must be a string of at most ${MAX_TRACE_ID_CHARS} characters`);
  }

  const parsed: WebhookEvent = { jobId: jobId.toLowerCase(), event, traceId };
  const job = fields["job"];
  if (job === undefined || job === null) return { ok: true, event: parsed };
  const carried = parseCarriedJob(job);
  return carried.ok ? { ok: true, event: { ...parsed, job: carried.job } } : carried;
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

// JSON.parse reports bad input only by throwing; this is the one place that turns it into a value.
function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: jsonErrorMessage(error) };
  }
}

/**
 * JSON.parse's message without the piece of the input V8 quotes in some of them
 * (`Unexpected token 'x', ..."secret": "…"... is not valid JSON`): the input may hold a secret.
 */
export function jsonErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/, (\.\.\.)?".*"(\.\.\.)? is not valid JSON$/s, " (the input is not quoted here)");
}

function fail(reason: string): ParsedEvent {
  return { ok: false, reason };
}
