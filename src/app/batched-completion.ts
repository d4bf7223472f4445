import type { CompleteAttempt, DeliveryStore } from "../ports/delivery-store.ts";
import { createGroupCommit, type Waiting } from "./group-commit.ts";

/**
 * The store with `completeAttempt` batched by group commit (`group-commit.ts`): a completion is
 * written at once when no write is in flight; those that arrive meanwhile wait and then go
 * together in one `completeAttempts` statement. Under load a statement per delivery becomes a
 * statement per batch. One writer at a time makes the batches bigger: with three, a statement
 * carried 3-7 rows and throughput was lower (docs/decisions.md).
 */
export function withBatchedCompletion(store: DeliveryStore, options: { maxBatch: number }): DeliveryStore {
  const completeAttempt = createGroupCommit<CompleteAttempt, boolean>(
    (queue) => queue.splice(0, options.maxBatch),
    async (batch: Waiting<CompleteAttempt, boolean>[]) => {
      try {
        const matched = await store.completeAttempts(batch.map((waiting) => waiting.item));
        batch.forEach((waiting, i) => waiting.resolve(matched[i] === true));
      } catch (error) {
        // Each caller retries its own completion (deliverOne does, while its lease lasts).
        batch.forEach((waiting) => waiting.reject(error));
      }
    },
  );
  return { ...store, completeAttempt };
}
