import type { Job } from "./job.ts";
import { makeSecret, type Secret } from "./secret.ts";
import { validateSecret } from "./signer.ts";
import { checkWebhookUrl } from "./webhook-url.ts";

/**
 * A finished job carried in its event (`"job": {...}`), used instead of a row of `jobs`, so that
 * producers without access to that table (and the embedded default) can use the dispatcher.
 */
export interface CarriedJob {
  readonly status: "succeeded" | "failed";
  readonly finishedAt: Date;
  /** The story, for a succeeded job; null for a failed one. */
  readonly outputMarkup: string | null;
  /** Why it failed, for a failed job; null for a succeeded one. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Where the webhook goes; null when the job has none (the event is then skipped, as for a `jobs` row). */
  readonly webhook: { readonly url: string; readonly secret: Secret | null } | null;
}

export type ParsedCarriedJob = { readonly ok: true; readonly job: CarriedJob } | { readonly ok: false; readonly reason: string };

const MAX_ERROR_CODE_CHARS = 256;
/** Longer than any URL a browser or proxy accepts (8 KiB is the usual ceiling). */
const MAX_URL_CHARS = 8192;
// RFC 3339 date-time; `t`, `z` and a space for `T` are allowed, as its section 5.6 notes.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * Validates the `job` field of an event. Reasons are the event's (`missing_field: job.status`,
 * `invalid_field: job.webhook.url: …`) and never repeat the secret or the URL.
 */
export function parseCarriedJob(value: unknown): ParsedCarriedJob {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("invalid_field: job must be an object");
  const fields = value as Record<string, unknown>;
  const status = fields["status"];
  if (status === undefined || status === null) return fail("missing_field: job.status");
  if (status !== "succeeded" && status !== "failed") return fail('invalid_field: job.status must be "succeeded" or "failed"');
  const finishedAt = fields["finished_at"];
  if (finishedAt === undefined || finishedAt === null) return fail("missing_field: job.finished_at");
  const at = typeof finishedAt === "string" ? parseRfc3339(finishedAt) : null;
  if (at === null) return fail("invalid_field: job.finished_at must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z");
  const body = status === "succeeded" ? succeededBody(fields) : failedBody(fields);
  if (typeof body === "string") return fail(body);
  const webhook = parseWebhook(fields["webhook"]);
  if (typeof webhook === "string") return fail(webhook);
  return { ok: true, job: { status, finishedAt: at, ...body, webhook } };
}

type Body = Pick<CarriedJob, "outputMarkup" | "error">;

function succeededBody(fields: Record<string, unknown>): Body | string {
  const markup = fields["output_markup"];
  if (markup === undefined || markup === null) return "missing_field: job.output_markup (a succeeded job has one)";
  if (typeof markup !== "string") return "invalid_field: job.output_markup must be a string";
  if (fields["error"] !== undefined && fields["error"] !== null) return "invalid_field: job.error is only for a failed job";
  return { outputMarkup: markup, error: null };
}

function failedBody(fields: Record<string, unknown>): Body | string {
  const error = fields["error"];
  if (error === undefined || error === null) return "missing_field: job.error (a failed job has one)";
  if (typeof error !== "object" || Array.isArray(error)) return "invalid_field: job.error must be an object with code and message";
  const { code, message } = error as Record<string, unknown>;
  if (typeof code !== "string" || code === "" || code.length > MAX_ERROR_CODE_CHARS) {
    return `invalid_field: job.error.code must be a non-empty string of at most ${MAX_ERROR_CODE_CHARS} characters`;
  }
  if (typeof message !== "string") return "invalid_field: job.error.message must be a string";
  if (fields["output_markup"] !== undefined && fields["output_markup"] !== null) return "invalid_field: job.output_markup is only for a succeeded job";
  return { outputMarkup: null, error: { code, message } };
}

function parseWebhook(value: unknown): CarriedJob["webhook"] | string {
  if (value === undefined || value === null) return null;
  if (typeof value !== "object" || Array.isArray(value)) return "invalid_field: job.webhook must be an object with url and secret";
  const { url, secret } = value as Record<string, unknown>;
  if (url === undefined || url === null) return "missing_field: job.webhook.url";
  if (typeof url !== "string" || url.length > MAX_URL_CHARS) return `invalid_field: job.webhook.url must be a string of at most ${MAX_URL_CHARS} characters`;
  const checked = checkWebhookUrl(url);
  if (!checked.ok) return `invalid_field: job.webhook.url: ${checked.reason}`;
  if (secret === undefined || secret === null) return { url: checked.url, secret: null };
  if (typeof secret !== "string") return "invalid_field: job.webhook.secret must be a string";
  const problem = validateSecret(secret);
  if (problem !== null) return `invalid_field: job.webhook.secret: ${problem}`;
  return { url: checked.url, secret: makeSecret(secret) };
}

/** A date-time whose every part is in range (no 30 February, no hour 24), or null. */
function parseRfc3339(text: string): Date | null {
  const match = RFC3339.exec(text);
  if (match === null) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const [offsetHours, offsetMinutes] = [Number(match[9] ?? 0), Number(match[10] ?? 0)];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return null;
  if (offsetHours > 23 || offsetMinutes > 59) return null;
  const at = new Date(text.replace(/[t ]/, "T").replace(/z$/, "Z"));
  return Number.isNaN(at.getTime()) ? null : at;
}

/** The job as if it had been read from `jobs`: its webhook body and signatures are then the same. */
export function jobOfCarried(jobId: string, job: CarriedJob): Job {
  return {
    id: jobId,
    status: job.status,
    finishedAt: job.finishedAt,
    outputMarkup: job.outputMarkup,
    errorCode: job.error?.code ?? null,
    errorMessage: job.error?.message ?? null,
    webhookUrl: job.webhook?.url ?? null,
    webhookSecret: job.webhook?.secret ?? null,
  };
}

/** The job in its wire format (as producers send it), secret included: for storing it on the outbox, never for showing. */
export function carriedJobJson(job: CarriedJob): Record<string, unknown> {
  const body = job.status === "succeeded" ? { output_markup: job.outputMarkup } : { error: job.error };
  const webhook = job.webhook === null ? null : { url: job.webhook.url, secret: job.webhook.secret?.reveal() ?? null };
  return { status: job.status, finished_at: job.finishedAt.toISOString(), ...body, webhook };
}

function fail(reason: string): ParsedCarriedJob {
  return { ok: false, reason };
}
