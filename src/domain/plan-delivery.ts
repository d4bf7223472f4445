import type { Job } from "./job.ts";
import { buildWebhookPayload, isFinished } from "./payload.ts";

/** What an accepted event turns into, once its job has been read. */
export type DeliveryPlan =
  | { readonly kind: "deliver"; readonly url: string; readonly payload: Uint8Array }
  | { readonly kind: "skip"; readonly reason: "no_webhook_url" }
  | { readonly kind: "dead_letter"; readonly reason: string };

/**
 * Plans the delivery for an event's job (undefined when no such job exists). A job without a
 * webhook URL is a normal case and is skipped silently; an unknown or unfinished job means the
 * producer published too early or wrongly, which operators should see in the dead letters.
 * The URL is only trimmed: whether it is acceptable is decided at send time, so the attempt
 * row records why it failed.
 */
export function planDelivery(job: Job | undefined): DeliveryPlan {
  if (job === undefined) return { kind: "dead_letter", reason: "unknown_job" };
  if (!isFinished(job)) return { kind: "dead_letter", reason: `job_not_finished: status is ${job.status}` };
  const url = job.webhookUrl?.trim() ?? "";
  if (url === "") return { kind: "skip", reason: "no_webhook_url" };
  return { kind: "deliver", url, payload: buildWebhookPayload(job) };
}
