/**
 * How baseline B2 runs BullMQ: one Worker at concurrency 64, every job with BullMQ's own retry
 * (attempts and exponential backoff) set to the dispatcher's default schedule. Values checked
 * against the installed bullmq 6.7.0 (`dist/esm/interfaces/worker-options.d.ts`,
 * `base-job-options.d.ts`, `classes/backoffs.js`).
 */
import type { DefaultJobOptions } from "bullmq";
import { parseConfig } from "../../src/app/config.ts";

export const QUEUE_NAME = "deliveries";

/** The job's name in addBulk; the worker has one processor for every name. */
export const JOB_NAME = "deliver-webhook";

// The dispatcher's DISPATCH_CONCURRENCY in the benchmark: the same requests in flight.
export const CONCURRENCY = 64;

/**
 * The dispatcher's defaults (WEBHOOK_MAX_RETRIES 10 attempts, WEBHOOK_RETRY_BASE_DELAY 30 s
 * doubling, WEBHOOK_RETRY_JITTER 0.1) as BullMQ's built-in exponential backoff. Two
 * differences, neither reached in a healthy drain: BullMQ's jitter only shortens a delay (by up
 * to 10%) where the dispatcher's spreads it both ways, and BullMQ has no cap, where the
 * dispatcher's is 24 h — which its 9th and last delay (30 s · 2^8 ≈ 2.1 h) never reaches.
 */
export function jobOptions(): DefaultJobOptions {
  const parsed = parseConfig({});
  if (!parsed.ok) throw new Error(`B2: the dispatcher's default config does not parse: ${parsed.errors.join("; ")}`);
  const { maxAttempts, baseDelayMs, jitter } = parsed.config.backoff;
  return {
    attempts: maxAttempts,
    backoff: { type: "exponential", delay: baseDelayMs, jitter },
    // Gone on success, as graphile-worker deletes a finished job; the attempt row in Postgres is
    // the record. BullMQ's default keeps every completed job in Redis.
    removeOnComplete: true,
  };
}

/** What B2 changes from BullMQ's defaults, for the results next to each number. */
export function bullmqSettingsLabel(): string {
  const { attempts, backoff } = jobOptions();
  const { delay = 0, jitter = 0 } = typeof backoff === "object" ? backoff : {};
  return `Worker concurrency ${CONCURRENCY}; jobs with attempts ${attempts}, exponential backoff from ${delay / 1000} s (jitter ${jitter}), removeOnComplete true; other settings default`;
}
