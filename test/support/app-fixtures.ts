import { randomUUID } from "node:crypto";
import type { Job } from "../../src/domain/job.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import type { SendResult } from "../../src/domain/send-result.ts";
import type { Clock } from "../../src/ports/clock.ts";
import type { LogFields, Logger } from "../../src/ports/logger.ts";
import type { Metrics } from "../../src/ports/metrics.ts";
import type { ListenForOutbox } from "../../src/ports/database.ts";
import type { WebhookRequest, WebhookSender } from "../../src/ports/webhook-sender.ts";
import type { RunInTransaction } from "../../src/ports/transactor.ts";
import type { AcceptEventsDeps } from "../../src/app/accept-events.ts";
import { createIntake } from "../../src/app/intake.ts";
import { createOutboxPoller, type OutboxPoller } from "../../src/app/outbox-poller.ts";

export const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** A clock that moves only when told. */
export function manualClock(start = new Date()): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

export function finishedJob(overrides: Partial<Job> = {}): Job {
  return {
    id: randomUUID(),
    status: "succeeded",
    finishedAt: new Date("2026-01-01T00:00:00Z"),
    outputMarkup: "<story/>",
    errorCode: null,
    errorMessage: null,
    webhookUrl: "https://receiver.example/hook",
    webhookSecret: makeSecret(SECRET),
    ...overrides,
  };
}

/** A sender that answers from a script (one result per call, the last repeated) and records requests. */
export function scriptedSender(results: readonly SendResult[]): WebhookSender & { requests: WebhookRequest[] } {
  const requests: WebhookRequest[] = [];
  return {
    requests,
    async send(request) {
      requests.push(request);
      return results[Math.min(requests.length - 1, results.length - 1)]!;
    },
    async close() {},
  };
}

export const response = (status: number, extra: Partial<SendResult & { kind: "response" }> = {}): SendResult => ({
  kind: "response",
  status,
  retryAfter: null,
  location: null,
  bodySnippet: new Uint8Array(),
  bodyTruncated: false,
  durationMs: 12,
  ...extra,
});

/** A logger that keeps every line, for asserting on what was (and was not) logged. */
export function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (base: LogFields): Logger => {
    const log = (level: string) => (msg: string, fields?: LogFields) => lines.push(JSON.stringify({ level, msg, ...base, ...fields }));
    return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: (f) => make({ ...base, ...f }) };
  };
  return Object.assign(make({}), { lines });
}

/** The dispatcher's default payload limit (1 MiB) and intake look-up budget (16 MiB). */
export const bodyLimits = { maxPayloadBytes: 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024 } as const;

/** An outbox poller on `transaction` whose intake has no free slots (every delivery waits for a claim); `onDeliveriesCreated` is its wake-up. */
export function outboxPollerWithoutSlots(
  accept: AcceptEventsDeps,
  transaction: RunInTransaction,
  options: { batchSize: number; pollIntervalMs: number; onDeliveriesCreated: () => void; listen?: ListenForOutbox },
): OutboxPoller {
  const slots = { reserve: () => 0, adopt: () => {}, wake: options.onDeliveriesCreated };
  const intake = createIntake({ transaction, accept, slots, leaseMs: 0 });
  const { batchSize, pollIntervalMs, listen } = options;
  return createOutboxPoller({ intake, transaction, now: accept.now, logger: accept.logger, batchSize, pollIntervalMs, ...(listen === undefined ? {} : { listen }) });
}

/** A Metrics port that keeps every report, in order, as `[method, ...arguments]`. */
export function recordingMetrics(): Metrics & { reports: unknown[][] } {
  const reports: unknown[][] = [];
  return {
    reports,
    attemptRecorded: (attempt) => void reports.push(["attemptRecorded", attempt]),
    deliveryEnded: (end, made) => void reports.push(made === undefined ? ["deliveryEnded", end] : ["deliveryEnded", end, made]),
    deadLettered: (source, reasonCode, count) => void reports.push(["deadLettered", source, reasonCode, count]),
    rowsPruned: (table, count) => void reports.push(["rowsPruned", table, count]),
  };
}
