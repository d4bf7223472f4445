import type { Job } from "../../domain/job.ts";
import { makeSecret, type Secret } from "../../domain/secret.ts";

/** A `jobs` row as the job look-up returns it, with the size of its body fields and whether they were read. */
export interface JobRow {
  id: string;
  status: string;
  finished_at: Date | null;
  output_markup: string | null;
  error_code: string | null;
  error_message: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  body_bytes: string;
  body: "read" | "too_large" | "over_budget";
}

/** A `webhook_secret` column as a Secret that never prints itself. */
export function secretOf(value: string | null): Secret | null {
  return value === null ? null : makeSecret(value);
}

export function toJob(row: JobRow): Job {
  const job: Job = {
    id: row.id,
    status: row.status,
    finishedAt: row.finished_at,
    outputMarkup: row.output_markup,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    webhookUrl: row.webhook_url,
    webhookSecret: secretOf(row.webhook_secret),
  };
  return row.body === "read" ? job : { ...job, unreadBody: { reason: row.body, bytes: Number(row.body_bytes) } };
}
