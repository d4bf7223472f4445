import { describe, expect, it } from "vitest";
import { retryWithBackoff } from "../../src/shared/retry-with-backoff.ts";

/** An operation that fails `failures` times, then answers "done". */
function failingTimes(failures: number) {
  let calls = 0;
  return {
    calls: () => calls,
    run: async () => {
      calls++;
      if (calls <= failures) throw new Error(`failure ${calls}`);
      return "done";
    },
  };
}

/** A wait that records how long it was asked to wait and returns at once. */
function recordedWaits() {
  const waits: number[] = [];
  return { waits, wait: async (ms: number) => void waits.push(ms) };
}

describe("retry with backoff", () => {
  it("returns the first success, waiting twice as long after each failure in a row, up to the cap", async () => {
    const operation = failingTimes(5);
    const { waits, wait } = recordedWaits();
    const told: string[] = [];
    const result = await retryWithBackoff(operation.run, { firstWaitMs: 100, maxWaitMs: 500, wait, onFailure: (error) => void told.push((error as Error).message) });
    expect(result).toBe("done");
    expect(waits).toEqual([100, 200, 400, 500, 500]);
    expect(told).toEqual(["failure 1", "failure 2", "failure 3", "failure 4", "failure 5"]);
  });

  it("throws the error at once when onFailure gives up, without waiting", async () => {
    const operation = failingTimes(3);
    const { waits, wait } = recordedWaits();
    await expect(retryWithBackoff(operation.run, { firstWaitMs: 100, maxWaitMs: 500, wait, onFailure: (_error, waitMs) => waitMs < 200 })).rejects.toThrow("failure 2");
    expect(waits).toEqual([100]);
    expect(operation.calls()).toBe(2);
  });

  it("stops retrying when the signal aborts during a wait, throwing the last error", async () => {
    const operation = failingTimes(100);
    const controller = new AbortController();
    const retrying = retryWithBackoff(operation.run, { firstWaitMs: 60_000, maxWaitMs: 60_000, signal: controller.signal, onFailure: () => {} });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await expect(retrying).rejects.toThrow("failure 1");
    expect(operation.calls()).toBe(1);
  });

  it("does not call onFailure or wait when the signal was already aborted at the failure", async () => {
    const controller = new AbortController();
    controller.abort();
    let told = 0;
    await expect(retryWithBackoff(failingTimes(1).run, { firstWaitMs: 1, maxWaitMs: 1, signal: controller.signal, onFailure: () => void told++ })).rejects.toThrow("failure 1");
    expect(told).toBe(0);
  });
});
