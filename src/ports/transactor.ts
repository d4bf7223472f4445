import type { DeadLetterStore } from "./dead-letters.ts";
import type { DeliveryStore } from "./delivery-store.ts";
import type { JobReader } from "./job-reader.ts";
import type { Outbox } from "./outbox.ts";

/** Every repository, bound to one connection or transaction. */
export interface Repositories {
  readonly jobs: JobReader;
  readonly deliveries: DeliveryStore;
  readonly deadLetters: DeadLetterStore;
  readonly outbox: Outbox;
}

/**
 * Runs `work` in one database transaction: it commits when `work` resolves and rolls back
 * when it throws. Never hold one open across an HTTP request.
 */
export type RunInTransaction = <T>(work: (tx: Repositories) => Promise<T>) => Promise<T>;
