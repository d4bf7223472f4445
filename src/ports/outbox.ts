/** One row of `webhook_outbox`, as producers insert it. */
export interface OutboxEntry {
  readonly id: string;
  readonly jobId: string;
  readonly event: string;
  readonly traceId: string | null;
  /**
   * The finished job the producer put on the row (its `job` column, decoded JSON; validated when
   * the event is parsed), or null (absent) when the job is to be read from `jobs`.
   */
  readonly job?: unknown;
  /** Set instead of `job` when the claim left it unread: its size as JSON text, bytes, over `maxJobBytes`. */
  readonly unreadJobBytes?: number;
}

/** How much of the rows' `job` columns one claim may bring into memory. */
export interface OutboxJobLimits {
  /** A row whose job is larger than this (bytes, as JSON text) comes back without it, with `unreadJobBytes`. */
  readonly maxJobBytes: number;
  /**
   * Bytes of jobs one claim reads: the rows past it (in id order) are left for a later claim;
   * the first row is always taken.
   */
  readonly maxTotalBytes: number;
}

/** The transactional outbox: producers (and `POST /v1/events`) append, the poller drains. */
export interface Outbox {
  /** Appends one event, with its job when it carries one (the wire format, secret included); returns the new row's id. */
  appendEvent(params: { jobId: string; event: string; traceId: string | null; job?: Readonly<Record<string, unknown>> | null; now: Date }): Promise<string>;

  /**
   * Locks up to `limit` unprocessed rows, oldest first, skipping rows locked by others
   * (`FOR UPDATE SKIP LOCKED`), only among `ids` when given, and returns those within
   * `jobLimits` (all of them without it). With `processedAt`, the rows returned are marked
   * processed at that time as well, in one statement (a rollback leaves them pending). Only
   * meaningful inside a transaction: the lock lasts until it ends.
   */
  claimPendingEvents(params: { limit: number; ids?: readonly string[]; jobLimits?: OutboxJobLimits; processedAt?: Date }): Promise<readonly OutboxEntry[]>;

  /** Marks rows processed at `now`. */
  markProcessed(params: { ids: readonly string[]; now: Date }): Promise<void>;
}
