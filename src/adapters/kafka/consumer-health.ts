import type { SourceReadiness } from "../../ports/event-source.ts";

/**
 * Whether the Kafka consumer is healthy, for `/readyz`, and how long to wait before restarting
 * it after it stopped: 1 s, then twice as long after each stop in a row, up to a minute, so a
 * consumer that keeps crashing costs the brokers and the logs one attempt a minute, not one
 * every few hundred milliseconds. Progress, or fetching for 30 s after a restart, starts a new series.
 */
export interface ConsumerHealth {
  readiness(): SourceReadiness;
  /** The consumer fetched, joined its group, or accepted events. */
  healthy(): void;
  /** A part of a batch was made durable and committed: healthy, whatever happened before. */
  progressed(): void;
  notReady(reason: string): void;
  /** A new consumer is starting. */
  started(): void;
  /** The consumer stopped because of `reason`: says why in the readiness; returns the wait before the next start (ms) and the stops in a row. */
  stopped(reason: string): { readonly waitMs: number; readonly stopsInARow: number };
}

const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** A consumer that fetched this long after its restart without stopping again is healthy: the next stop starts a new series. */
const HEALTHY_AFTER_MS = 30_000;
/**
 * A healthy consumer completes a fetch at least every `maxWaitTimeInMs` (1 s here), even on
 * an idle topic. Longer than this without one means the brokers are out of reach, well before
 * kafkajs's own retries give up and report a crash.
 */
const FETCH_SILENCE_MS = 15_000;

/** `now` gives ms since the epoch. */
export function createConsumerHealth(now: () => number): ConsumerHealth {
  let problem: string | null = "not connected yet";
  let lastFetchAt = 0;
  let stopsInARow = 0;
  let lastStartAt = 0;
  const healthy = () => {
    problem = null;
    lastFetchAt = now();
    if (stopsInARow > 0 && now() - lastStartAt >= HEALTHY_AFTER_MS) stopsInARow = 0;
  };
  return {
    readiness() {
      if (problem !== null) return { ready: false, reason: `kafka: ${problem}` };
      const silentMs = now() - lastFetchAt;
      if (silentMs > FETCH_SILENCE_MS) return { ready: false, reason: `kafka: no fetch from the brokers for ${Math.round(silentMs / 1000)} s` };
      return { ready: true };
    },
    healthy,
    progressed() {
      stopsInARow = 0;
      healthy();
    },
    notReady(reason) {
      problem = reason;
    },
    started() {
      lastStartAt = now();
    },
    stopped(reason) {
      stopsInARow++;
      const waitMs = Math.min(RESTART_FIRST_MS * 2 ** (stopsInARow - 1), RESTART_MAX_MS);
      const times = stopsInARow === 1 ? "once" : `${stopsInARow} times in a row`;
      problem = `consumer stopped ${times}, last because: ${reason}; restarting in ${Math.ceil(waitMs / 1000)} s`;
      return { waitMs, stopsInARow };
    },
  };
}
