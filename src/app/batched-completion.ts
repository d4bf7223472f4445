import type { CompleteAttempt, DeliveryStore } from "../ports/delivery-store.ts";

interface Waiting {
  readonly item: CompleteAttempt;
  readonly resolve: (matched: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The store with `completeAttempt` batched by group commit: the first completion is written at
 * once; those that arrive while a write is in flight wait for it and then go together in one
 * `completeAttempts` statement. Nothing waits on a timer, so a lone completion is as fast as
 * before, and under load a statement per delivery becomes a statement per batch.
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
