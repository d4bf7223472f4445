/** One row of `webhook_outbox`, as producers insert it. */
export interface OutboxEntry {
  readonly id: string;
  readonly jobId: string;
  readonly event: string;
  readonly traceId: string | null;
}

/** The transactional outbox: producers (and `POST /v1/events`) append, the poller drains. */
export interface Outbox {
  /** Appends one event; returns the new row's id. */
  appendEvent(params: { jobId: string; event: string; traceId: string | null; now: Date }): Promise<string>;

  /**
   * Locks up to `limit` unprocessed rows, oldest first, skipping rows locked by others
   * (`FOR UPDATE SKIP LOCKED`), only among `ids` when given. Only meaningful inside a
   * transaction: the lock lasts until it ends.
   */
  claimPendingEvents(params: { limit: number; ids?: readonly string[] }): Promise<readonly OutboxEntry[]>;

  /** Marks rows processed at `now`. */
  markProcessed(params: { ids: readonly string[]; now: Date }): Promise<void>;
}
