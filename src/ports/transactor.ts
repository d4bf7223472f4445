import type { BacklogReader } from "./backlog.ts";
import type { DeadLetterStore } from "./dead-letters.ts";
import type { DeliveryStore } from "./delivery-store.ts";
import type { JobReader } from "./job-reader.ts";
import type { Outbox } from "./outbox.ts";
import type { ReplayStore } from "./replays.ts";
import type { RetentionStore } from "./retention.ts";

/** Every repository, bound to one connection or transaction. */
export interface Repositories {
  readonly jobs: JobReader;
  readonly deliveries: DeliveryStore;
  readonly deadLetters: DeadLetterStore;
  readonly outbox: Outbox;
  readonly replays: ReplayStore;
  readonly retention: RetentionStore;
  readonly backlog: BacklogReader;
}

/**
 * Runs `work` in one database transaction: it commits when `work` resolves and rolls back
 * when it throws. Never hold one open across an HTTP request.
 */
export type RunInTransaction = <T>(work: (tx: Repositories) => Promise<T>) => Promise<T>;

/**
 * What a transaction throws when the database answered but refused the data itself (a value it
 * cannot store, a constraint, a size limit) rather than being out of reach. The same work can
 * never succeed as it is, but the same work without the rows at fault can; anything else a
 * transaction throws (a lost connection, a timeout) is an outage, and retrying is right.
 */
export class DataRefusedError extends Error {
  /** The SQLSTATE, or the name of the JavaScript error that stopped the statement being built. */
  readonly code: string;

  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DataRefusedError";
    this.code = code;
  }
}
