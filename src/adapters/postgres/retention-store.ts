import type { RetentionStore } from "../../ports/retention.ts";
import { pruneDeadLetters } from "./sql/prune-dead-letters.ts";
import { pruneDeliveries } from "./sql/prune-deliveries.ts";
import { pruneOutbox } from "./sql/prune-outbox.ts";
import type { SqlClient } from "./sql-client.ts";

/** The RetentionStore port over Postgres: each method is one statement. */
export function makeRetentionStore(sql: SqlClient): RetentionStore {
  const guarded = (prune: typeof pruneOutbox) => (batch: Parameters<typeof pruneOutbox>[1]) => (batch.limit <= 0 ? Promise.resolve(0) : prune(sql, batch));
  return {
    pruneDeliveries: guarded(pruneDeliveries),
    pruneOutbox: guarded(pruneOutbox),
    pruneDeadLetters: guarded(pruneDeadLetters),
  };
}
