import type { CompleteAttempt, DeliveryStore } from "../ports/delivery-store.ts";

interface Waiting {
  readonly item: CompleteAttempt;
  readonly resolve: (matched: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The store with `completeAttempt` batched by group commit: a completion is written at once
 * while fewer than `maxWriters` writes are in flight; those that arrive meanwhile wait and then
 * go together in one `completeAttempts` statement. Nothing waits on a timer, so a lone
 * completion is as fast as before, and under load a statement per delivery becomes a statement
 * per batch. Several writers keep an attempt's slot from waiting behind a whole batch write.
 */
export function withBatchedCompletion(store: DeliveryStore, options: { maxBatch: number; maxWriters?: number }): DeliveryStore {
  const queue: Waiting[] = [];
  const maxWriters = options.maxWriters ?? 1;
  let writers = 0;

  async function writeQueued(): Promise<void> {
    writers++;
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
    writers--;
  }

  return {
    ...store,
    completeAttempt(item) {
      return new Promise<boolean>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (writers < maxWriters) void writeQueued();
      });
    },
  };
}
