/** The work waiting in the database at one moment. */
export interface StoredBacklog {
  /** Pending deliveries due now: neither leased nor waiting for a later retry. */
  readonly due: number;
  /** Pending deliveries in all: due, leased, and waiting for a later retry. */
  readonly pending: number;
  /** When the delivery due longest became due; null when none is due. */
  readonly oldestDueAt: Date | null;
  /** Outbox rows not processed yet. */
  readonly outboxUnprocessed: number;
  /** When the oldest unprocessed outbox row was written; null when there is none. */
  readonly oldestOutboxAt: Date | null;
}

/**
 * Reads the backlog for metrics, in one statement. Its cost grows with the backlog (about 0.1 s
 * for a million pending deliveries and a million unprocessed outbox rows), so callers read it at
 * a bounded rate.
 */
export interface BacklogReader {
  readBacklog(now: Date): Promise<StoredBacklog>;
}
