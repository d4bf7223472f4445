/** Which deliveries a replay re-drives: one status, a required creation window, and optional narrowing. */
export interface ReplayFilter {
  /** `failed` (the usual), `pending` (due now) or `sent` (sent again: same webhook-id, fresh signature). */
  readonly status: "failed" | "pending" | "sent";
  /** Created at or after this time. */
  readonly createdAfter: Date;
  /** Created before this time. */
  readonly createdBefore: Date;
  /** `scheme://host[:port]` of the URL as written, lowercase (see `domain/url-origin.ts`). */
  readonly origin?: string;
  readonly event?: string;
  /** Lowercase uuids; at most 1,000. */
  readonly jobIds?: readonly string[];
}

export type ReplayStatus = "running" | "completed" | "cancelled";

export interface Replay {
  readonly id: string;
  readonly status: ReplayStatus;
  readonly filter: ReplayFilter;
  /** Deliveries that matched when the replay was created. */
  readonly matched: number;
  /** Re-driven so far. */
  readonly redriven: number;
  /** Passed over so far: an attempt held them, or they no longer matched the status. */
  readonly skipped: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When it completed or was cancelled. */
  readonly finishedAt: Date | null;
}

/** What matched a filter when counted: how many (at most `max + 1`) and the newest one's id. */
export interface ReplayMatch {
  readonly count: number;
  readonly upperId: string | null;
}

/**
 * What one turn of a replay did: re-drove a batch (`done` when the replay has nothing left), or
 * `waited` because too many deliveries were already due.
 */
export interface ReplayBatch {
  readonly replay: Replay;
  readonly waited: boolean;
  readonly redriven: number;
  readonly skipped: number;
  readonly done: boolean;
}

/**
 * Bulk replays, persisted: a replay's progress moves in the same transaction as the batch it
 * re-drove, so it resumes after a restart and re-drives no row twice.
 */
export interface ReplayStore {
  /** Counts the deliveries `filter` matches, stopping past `max`; and the newest one's id. */
  matchReplay(filter: ReplayFilter, max: number): Promise<ReplayMatch>;

  /** Records a running replay over the deliveries up to `match.upperId`. */
  createReplay(params: { id: string; filter: ReplayFilter; match: ReplayMatch; now: Date }): Promise<Replay>;

  getReplay(id: string): Promise<Replay | null>;

  /** A running replay stops (what it re-drove stays re-driven); `not_running` when it had ended. */
  cancelReplay(params: { id: string; now: Date }): Promise<{ outcome: "cancelled" | "not_running" | "not_found"; replay: Replay | null }>;

  /**
   * Re-drives the next batch (at most `batchSize` rows, oldest first) of the oldest running
   * replay no other transaction holds, records a `replay` operator action on each, and moves
   * the replay on; null when no replay is running. Re-drives nothing (`waited`) while
   * `maxDue` or more deliveries are due: replayed rows queue behind the due ones, so a replay
   * never starves fresh deliveries. Call it in a transaction: the replay's row stays locked
   * until it commits.
   */
  advanceReplay(params: { now: Date; batchSize: number; maxDue: number }): Promise<ReplayBatch | null>;
}
