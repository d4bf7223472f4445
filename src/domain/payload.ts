import type { Job } from "./job.ts";

const utf8 = new TextEncoder();

/** A job the dispatcher can report on: only finished jobs produce a webhook body. */
export function isFinished(job: Job): boolean {
  return job.status === "succeeded" || job.status === "failed";
}

/**
 * The webhook body of a finished job, as UTF-8 JSON. These exact bytes are stored with the
 * delivery and signed and sent unchanged on every retry, so the key order is fixed here:
 * `job_id, status, finished_at`, then `output_markup` (succeeded) or `error` (failed).
 * Missing values are written as null, never omitted.
 */
export function buildWebhookPayload(job: Job): Uint8Array {
  const head = { job_id: job.id, status: job.status, finished_at: rfc3339(job.finishedAt) };
  const body =
    job.status === "succeeded"
      ? { ...head, output_markup: job.outputMarkup }
      : { ...head, error: { code: job.errorCode, message: job.errorMessage } };
  return utf8.encode(JSON.stringify(body));
}

// toISOString throws on an invalid Date; a bad timestamp should not stop the webhook.
function rfc3339(at: Date | null): string | null {
  if (at === null || Number.isNaN(at.getTime())) return null;
  return at.toISOString();
}
