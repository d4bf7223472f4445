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
}

export interface StoredDeadLetter extends DeadLetter {
  readonly id: string;
}

/** Events that could not become deliveries, kept with their reason for operators. */
export interface DeadLetterStore {
  /** Inserts all rows in one statement. */
  recordDeadLetters(rows: readonly DeadLetter[]): Promise<void>;
  /**
   * Newest first, at most `limit`, narrowed by `filter`; with `beforeId`, only older ones (a
   * keyset page). A `beforeId` that is not a whole number matches nothing.
   */
  listDeadLetters(params: { limit: number; filter?: DeadLetterFilter; beforeId?: string }): Promise<readonly StoredDeadLetter[]>;
}
