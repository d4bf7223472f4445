/** Where an event that could not become a delivery came from, and what it was. */
export interface DeadLetter {
  readonly source: "outbox" | "kafka" | "api";
  /** Why it could not become a delivery, e.g. `unknown_job`, `invalid_json: ...`, `undecodable_batch: ...`. */
  readonly reason: string;
  readonly jobId: string | null;
  readonly event: string | null;
  readonly traceId: string | null;
  /** The raw input bytes, when the event came as bytes (Kafka). */
  readonly raw: Uint8Array | null;
  /** Kafka coordinates, when the event came from Kafka. */
  readonly topic: string | null;
  readonly partition: number | null;
  readonly offset: string | null;
  /** The last offset when the letter stands for a range (an undecodable record batch), else null. */
  readonly lastOffset: string | null;
  readonly key: Uint8Array | null;
  /** When the event was dead-lettered. */
  readonly createdAt: Date;
}

/** Which dead letters to list; every field narrows the list. */
export interface DeadLetterFilter {
  readonly source?: DeadLetter["source"];
  /** The reason's code: the part before the first `:` (`unknown_job`, `invalid_json`, …). */
  readonly reasonCode?: string;
  /** Dead-lettered at or after this time. */
  readonly createdAfter?: Date;
  /** Dead-lettered before this time. */
  readonly createdBefore?: Date;
  /** Only those reprocessed into a delivery (true), or only those not (false). */
  readonly reprocessed?: boolean;
}

export interface StoredDeadLetter extends DeadLetter {
  readonly id: string;
  /** When an operator reprocessed it into a delivery; null until then. */
  readonly reprocessedAt: Date | null;
  /** The delivery it became, once reprocessed. */
  readonly deliveryId: string | null;
}

/**
 * What reprocessing one dead letter did: it became a delivery (`reprocessed`; `existed` when the
 * delivery of its job and event was there already), or nothing changed because it was
 * `already_reprocessed`, is `not_found`, or was `refused` (the reason says why: `unknown_job`,
 * `job_not_finished: …`, `no_webhook_url`, `not_reprocessable: …`).
 */
export type ReprocessOutcome =
  | { readonly outcome: "reprocessed"; readonly deliveryId: string; readonly existed: boolean }
  | { readonly outcome: "already_reprocessed"; readonly deliveryId: string | null }
  | { readonly outcome: "refused"; readonly reason: string }
  | { readonly outcome: "not_found" };

/** Reprocesses one dead letter by id: reads its job again and, if it can be delivered now, creates the delivery. */
export type ReprocessDeadLetter = (id: string) => Promise<ReprocessOutcome>;

/** Events that could not become deliveries, kept with their reason for operators. */
export interface DeadLetterStore {
  /** Inserts all rows in one statement. */
  recordDeadLetters(rows: readonly DeadLetter[]): Promise<void>;
  /**
   * Newest first, at most `limit`, narrowed by `filter`; with `beforeId`, only older ones (a
   * keyset page). A `beforeId` that is not a whole number matches nothing.
   */
  listDeadLetters(params: { limit: number; filter?: DeadLetterFilter; beforeId?: string }): Promise<readonly StoredDeadLetter[]>;
  /** One dead letter by id, locked until the transaction ends; null when there is none (or the id is not a whole number). */
  lockDeadLetter(id: string): Promise<StoredDeadLetter | null>;
  /** Marks a dead letter reprocessed into `deliveryId`. */
  markReprocessed(params: { id: string; deliveryId: string; now: Date }): Promise<void>;
}
