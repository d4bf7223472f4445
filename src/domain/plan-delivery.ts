import type { Job } from "./job.ts";
import { buildWebhookPayload, isFinished } from "./payload.ts";

/** What an accepted event turns into, once its job has been read. */
export type DeliveryPlan =
  | { readonly kind: "deliver"; readonly url: string; readonly payload: Uint8Array }
  /** A delivery recorded as failed at once, so operators see it; nothing is ever sent. */
  | { readonly kind: "reject"; readonly url: string; readonly reason: string }
  | { readonly kind: "skip"; readonly reason: "no_webhook_url" }
  | { readonly kind: "dead_letter"; readonly reason: string };

export interface PlanLimits {
  /** Largest webhook body, bytes. */
  readonly maxPayloadBytes: number;
}

/**
 * Plans the delivery for an event's job (undefined when no such job exists). A job without a
 * webhook URL is a normal case and is skipped silently; an unknown or unfinished job means the
 * producer published too early or wrongly, which operators should see in the dead letters.
 * A body over `maxPayloadBytes` is never sent: receivers refuse such requests, and holding it
 * would cost every retry that much memory. The URL is only trimmed: whether it is acceptable is
 * decided by the caller, so the delivery records why it failed.
 */
export function planDelivery(job: Job | undefined, limits: PlanLimits): DeliveryPlan {
  if (job === undefined) return { kind: "dead_letter", reason: "unknown_job" };
  if (!isFinished(job)) return { kind: "dead_letter", reason: `job_not_finished: status is ${job.status}` };
  const url = job.webhookUrl?.trim() ?? "";
  if (url === "") return { kind: "skip", reason: "no_webhook_url" };
  const max = limits.maxPayloadBytes;
  if (job.unreadBody !== undefined) {
    // Only a body over the limit may reach here unread; a deferred one is read again first.
    return { kind: "reject", url, reason: `payload_too_large: the job's markup and error alone are ${job.unreadBody.bytes} bytes (max ${max})` };
  }
  const payload = buildWebhookPayload(job);
  if (payload.byteLength > max) return { kind: "reject", url, reason: `payload_too_large: ${payload.byteLength} bytes (max ${max})` };
  return { kind: "deliver", url, payload };
}
