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
  /**
   * Set when the reader left the body fields (`outputMarkup`, `errorCode`, `errorMessage`)
   * unread, with their size in bytes: `too_large` when they alone exceed the payload limit (the
   * job can never be sent), `over_budget` when the batch's byte budget was spent before them
   * (they are read in a later look-up).
   */
  readonly unreadBody?: { readonly reason: "too_large" | "over_budget"; readonly bytes: number };
}

/**
 * The secrets a delivery of `job` is signed with, newest first: none when the job has no
 * secret, and null when the job no longer exists (undefined), so that nothing is sent.
 */
export function signingSecretsOf(job: Pick<Job, "webhookSecret"> | undefined): readonly Secret[] | null {
  if (job === undefined) return null;
  return job.webhookSecret === null ? [] : [job.webhookSecret];
}
