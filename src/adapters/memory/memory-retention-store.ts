import type { PruneBatch, RetentionStore } from "../../ports/retention.ts";
import type { MemoryState } from "./memory-state.ts";

/**
 * Pruning over the fake's tables, with the Postgres adapter's rules. The fake keeps no
 * `updated_at`: a delivery's last attempt (or its creation) stands for its last change.
 */
export function makeMemoryRetentionStore(state: MemoryState): RetentionStore {
  return {
    async pruneDeliveries({ before, limit }: PruneBatch) {
      const tables = state.tables;
      const doomed = [...tables.deliveries.values()]
        .filter((d) => d.status !== "pending" && d.createdAt < before && (d.lastAttemptAt ?? d.createdAt) < before)
        .slice(0, Math.max(0, limit))
        .map((d) => d.id);
      const gone = new Set(doomed);
      for (const id of doomed) {
        tables.deliveries.delete(id);
        tables.attempts.delete(id);
      }
      tables.operatorActions = tables.operatorActions.filter((action) => !gone.has(action.deliveryId));
      return doomed.length;
    },
    async pruneOutbox({ before, limit }: PruneBatch) {
      const doomed = new Set(state.tables.outbox.filter((row) => row.processedAt !== null && row.processedAt < before).slice(0, Math.max(0, limit)));
      state.tables.outbox = state.tables.outbox.filter((row) => !doomed.has(row));
      return doomed.size;
    },
    async pruneDeadLetters({ before, limit }: PruneBatch) {
      const doomed = new Set(state.tables.deadLetters.filter((row) => row.createdAt < before).slice(0, Math.max(0, limit)));
      state.tables.deadLetters = state.tables.deadLetters.filter((row) => !doomed.has(row));
      return doomed.size;
    },
  };
}
