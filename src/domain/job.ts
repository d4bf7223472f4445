import type { Secret } from "./secret.ts";

/** A row of the platform's `jobs` table, as the dispatcher reads it (read-only input). */
export interface Job {
  readonly id: string;
  /** `succeeded` | `failed` for finished jobs; anything else means the job has not finished. */
  readonly status: string;
  readonly finishedAt: Date | null;
  readonly outputMarkup: string | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly webhookUrl: string | null;
  readonly webhookSecret: Secret | null;
}
