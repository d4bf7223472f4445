import { describe, expect, it } from "vitest";
import { withBatchedCompletion } from "../../src/app/batched-completion.ts";
import type { CompleteAttempt, DeliveryStore } from "../../src/ports/delivery-store.ts";

function item(n: number): CompleteAttempt {
  return {
    deliveryId: `d${n}`,
    leaseToken: `t${n}`,
    attempt: { deliveryId: `d${n}`, attemptNumber: 1, startedAt: new Date(0), durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" },
    next: { kind: "sent" },
  };
}

/** A store whose batch writes wait until released, recording each batch. */
function recordingStore(options: { failFirst?: boolean } = {}) {
  const batches: string[][] = [];
  const pending: (() => void)[] = [];
  let fail = options.failFirst ?? false;
  const store = {
    completeAttempts: async (items: readonly CompleteAttempt[]) => {
      batches.push(items.map((i) => i.deliveryId));
      await new Promise<void>((resolve) => pending.push(resolve));
      if (fail) {
        fail = false;
        throw new Error("connection terminated");
      }
      return items.map((i) => i.deliveryId !== "d2"); // d2's lease was lost
    },
  } as unknown as DeliveryStore;
  return { store, batches, release: () => pending.splice(0).forEach((r) => r()) };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("batched completion", () => {
  it("writes the first completion at once and the ones that arrive meanwhile together in one statement", async () => {
    const { store, batches, release } = recordingStore();
    const batched = withBatchedCompletion(store, { maxBatch: 10 });
    const first = batched.completeAttempt(item(1));
    await tick();
    const rest = [2, 3, 4].map((n) => batched.completeAttempt(item(n)));
    expect(batches).toEqual([["d1"]]);
    release();
    await tick();
    expect(batches).toEqual([["d1"], ["d2", "d3", "d4"]]);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([true, false, true, true]);
  });

  it("splits what is waiting into batches of at most maxBatch", async () => {
    const { store, batches, release } = recordingStore();
    const batched = withBatchedCompletion(store, { maxBatch: 2 });
    const all = [1, 3, 4, 5, 6].map((n) => batched.completeAttempt(item(n)));
    for (let i = 0; i < 4; i++) {
      await tick();
      release();
    }
    await Promise.all(all);
    expect(batches).toEqual([["d1"], ["d3", "d4"], ["d5", "d6"]]);
  });

  it("rejects every completion of a batch whose statement failed, and writes the next batch normally", async () => {
    const { store, release } = recordingStore({ failFirst: true });
    const batched = withBatchedCompletion(store, { maxBatch: 10 });
    const failed = batched.completeAttempt(item(1));
    await tick();
    release();
    await expect(failed).rejects.toThrow("connection terminated");
    const next = batched.completeAttempt(item(3));
    await tick();
    release();
    expect(await next).toBe(true);
  });
});
