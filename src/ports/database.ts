import type { Repositories, RunInTransaction } from "./transactor.ts";

/** A connected database: repositories outside a transaction, transactions, health, shutdown. */
export interface Database extends Repositories {
  readonly transaction: RunInTransaction;
  /** Resolves when the database answers a trivial query; rejects with the reason otherwise. */
  ping(): Promise<void>;
  /** Closes connections (and stops an embedded server). Idempotent. */
  close(): Promise<void>;
  /**
   * Calls `onAppended` soon after any process commits outbox rows, and each time the listening
   * connection is established again after it was lost (rows committed meanwhile are found by
   * the look that follows). Resolves once listening, with the way to stop; rejects when the
   * database cannot be reached. Absent where no other process can write the outbox (the
   * embedded database serves one connection: the dispatcher's own).
   */
  readonly listenForOutbox?: ListenForOutbox;
}

/** See `Database.listenForOutbox`. */
export type ListenForOutbox = (onAppended: () => void) => Promise<{ stop(): Promise<void> }>;
