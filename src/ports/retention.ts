/** One batch of pruning: delete at most `limit` rows older than `before`; returns how many went. */
export interface PruneBatch {
  readonly before: Date;
  readonly limit: number;
}

/**
 * Deletes what is kept only for a while, a batch at a time. Rows another transaction holds are
 * skipped, so several processes pruning at once delete each row once and wait for no one.
 */
export interface RetentionStore {
  /**
   * `sent` and `failed` deliveries created and last changed before `before`, with their attempts
   * and operator actions. A pending delivery is never deleted.
   */
  pruneDeliveries(batch: PruneBatch): Promise<number>;
  /** Outbox rows processed before `before`; unprocessed rows are never deleted. */
  pruneOutbox(batch: PruneBatch): Promise<number>;
  /** Dead letters recorded before `before`. */
  pruneDeadLetters(batch: PruneBatch): Promise<number>;
}
