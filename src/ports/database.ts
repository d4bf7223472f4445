import type { Repositories, RunInTransaction } from "./transactor.ts";

/** A connected database: repositories outside a transaction, transactions, health, shutdown. */
export interface Database extends Repositories {
  readonly transaction: RunInTransaction;
  /** Resolves when the database answers a trivial query; rejects with the reason otherwise. */
  ping(): Promise<void>;
  /** Closes connections (and stops an embedded server). Idempotent. */
  close(): Promise<void>;
}
