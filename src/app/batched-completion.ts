import type { CompleteAttempt, DeliveryStore } from "../ports/delivery-store.ts";

interface Waiting {
  readonly item: CompleteAttempt;
  readonly resolve: (matched: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The store with `completeAttempt` batched by group commit: a completion is written at once
 * when no write is in flight; those that arrive meanwhile wait and then go together in one
 * `completeAttempts` statement. Nothing waits on a timer, so a lone completion is as fast as
 * before, and under load a statement per delivery becomes a statement per batch. One writer at
 * a time makes the batches bigger: with three, a statement carried 3-7 rows and throughput was
 * lower (docs/decisions.md).
 */
export function withBatchedCompletion(store: DeliveryStore, options: { maxBatch: number }): DeliveryStore {
  const queue: Waiting[] = [];
  let writing = false;

  async function writeQueued(): Promise<void> {
    writing = true;
    while (queue.length > 0) {
      const batch = queue.splice(0, options.maxBatch);
      try {
        const matched = await store.completeAttempts(batch.map((waiting) => waiting.item));
        batch.forEach((waiting, i) => waiting.resolve(matched[i] === true));
      } catch (error) {
        // Each caller retries its own completion (deliverOne does, while its lease lasts).
        batch.forEach((waiting) => waiting.reject(error));
      }
    }
    writing = false;
  }

  return {
    ...store,
    completeAttempt(item) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!writing) void writeQueued();
      });
    },
  };
}
