/**
 * What the benchmark's jobs look like, and how S0 signs its requests exactly as the dispatcher
 * does (Standard Webhooks plus the hex HMAC), so every scenario's receiver does the same work.
 */
import { createHmac, randomBytes } from "node:crypto";

export const EVENT = "job.succeeded";

/**
 * Story markup of a finished job: with the other fields the webhook body is about 300 bytes,
 * the size S4 asks for and a realistic short notification.
 */
export const OUTPUT_MARKUP =
  '<story lang="en"><title>The Lighthouse Keeper</title><p>Every night Mara climbed the ' +
  "hundred steps and lit the lamp, though no ship had passed in years.</p></story>";

/** A Standard Webhooks secret: `whsec_` and 24 random bytes in base64. */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/** The body the dispatcher builds for one of the benchmark's jobs (same key order and sizes). */
export function webhookBody(jobId: string, finishedAt: Date): string {
  return JSON.stringify({ job_id: jobId, status: "succeeded", finished_at: finishedAt.toISOString(), output_markup: OUTPUT_MARKUP });
}

/** The signing headers of one request, computed the way the dispatcher's signer does. */
export function signedHeaders(secret: string, webhookId: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const standard = createHmac("sha256", key).update(`${webhookId}.${timestamp}.${body}`).digest("base64");
  return {
    "content-type": "application/json",
    "user-agent": "Stories-Webhook/1.0",
    "webhook-id": webhookId,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${standard}`,
    "x-gs-timestamp": timestamp,
    "x-gs-signature": createHmac("sha256", secret).update(body).digest("hex"),
  };
}
