export interface RetryOptions {
  /** Wait after the first failure, ms; doubles after each failure in a row. */
  readonly firstWaitMs: number;
  /** Longest wait, ms. */
  readonly maxWaitMs: number;
  /**
   * Told about each failure and the wait before the next try (to log it, to mark something not
   * ready). Returns false to give up: the error is then thrown.
   */
  readonly onFailure: (error: unknown, waitMs: number) => boolean | void;
  /** Aborting ends a wait at once and throws the last error instead of trying again. */
  readonly signal?: AbortSignal;
  /** How to wait; an abortable timer by default. May do work while waiting (a heartbeat), or end early (a wake-up). */
  readonly wait?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Runs `attempt` until it succeeds, waiting longer after each failure in a row (exponential, capped):
 * the one retry loop of the dispatcher, for every call that must outlast a database or broker outage.
 */
export async function retryWithBackoff<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.wait ?? abortableDelay;
  for (let waitMs = options.firstWaitMs; ; waitMs = Math.min(waitMs * 2, options.maxWaitMs)) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal?.aborted || options.onFailure(error, waitMs) === false) throw error;
      await wait(waitMs, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. Never rejects. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}
