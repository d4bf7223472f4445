/**
 * A sleep that ends early when someone calls `wake()` or the abort signal fires. A wake that
 * arrives while nobody sleeps is remembered, so the next `sleep` returns at once and no new
 * work is missed between a check and a sleep.
 */
export interface WakeSignal {
  wake(): void;
  /** Resolves after `ms`, on `wake()`, or on abort — whichever comes first. Never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function createWakeSignal(): WakeSignal {
  let pending = false;
  let wakeSleeper: (() => void) | null = null;
  return {
    wake() {
      if (wakeSleeper) wakeSleeper();
      else pending = true;
    },
    sleep(ms, signal) {
      if (pending || signal?.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          wakeSleeper = null;
          resolve();
        };
        const timer = setTimeout(done, Math.max(0, ms));
        signal?.addEventListener("abort", done, { once: true });
        wakeSleeper = done;
      });
    },
  };
}
