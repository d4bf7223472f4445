import type { StoredBacklog } from "../../ports/backlog.ts";
import type { MemoryState } from "./memory-state.ts";

/** The backlog of the fake's tables, by the Postgres adapter's rules (a leased row is due at its lease expiry). */
export function readMemoryBacklog(state: MemoryState, now: Date): StoredBacklog {
  let due = 0;
  let pending = 0;
  let oldestDueAt: Date | null = null;
  for (const delivery of state.tables.deliveries.values()) {
    if (delivery.status !== "pending") continue;
    pending++;
    const at = delivery.nextAttemptAt;
    if (at === null || at > now) continue;
    due++;
    if (oldestDueAt === null || at < oldestDueAt) oldestDueAt = at;
  }
  const unprocessed = state.tables.outbox.filter((row) => row.processedAt === null);
  const oldestOutbox = unprocessed.reduce<Date | null>((oldest, row) => (oldest === null || row.createdAt < oldest ? row.createdAt : oldest), null);
  return { due, pending, oldestDueAt: oldestDueAt === null ? null : new Date(oldestDueAt), outboxUnprocessed: unprocessed.length, oldestOutboxAt: oldestOutbox };
}
