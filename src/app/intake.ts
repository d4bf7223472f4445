import type { ClaimedDelivery } from "../ports/delivery-store.ts";
import type { IncomingEvent } from "../ports/event-source.ts";
import { type Metrics, noopMetrics } from "../ports/metrics.ts";
import type { Repositories, RunInTransaction } from "../ports/transactor.ts";
import { acceptEvents, type AcceptEventsDeps, type AcceptResult } from "./accept-events.ts";

/** Where new deliveries go: into free slots, created leased, or into the database for a claim. */
export interface IntakeSlots {
  /** Holds up to `max` free slots for deliveries about to be created leased; returns how many. */
  reserve(max: number): number;
  /** Starts the deliveries created leased into `reserved` slots and frees the rest. */
  adopt(reserved: number, deliveries: readonly ClaimedDelivery[]): void;
  /** Deliveries were created that wait in the database: claim them now. */
  wake(): void;
}

export interface IntakeDeps {
  readonly transaction: RunInTransaction;
  readonly accept: AcceptEventsDeps;
  readonly slots: IntakeSlots;
  /** Lease length of the deliveries created leased, ms. */
  readonly leaseMs: number;
  /** Counts the deliveries stored failed at once, after the transaction commits. */
  readonly metrics?: Metrics;
}

/** One batch of an input: its events, read inside the intake transaction, and what the input does there afterwards. */
export interface IntakeBatch {
  /** Most events `take` can return: slots are reserved for at most this many before the transaction. */
  readonly maxEvents: number;
  /** In the transaction: the events (the outbox claims its rows here). */
  readonly take: (tx: Repositories) => Promise<readonly IncomingEvent[]>;
  /** In the same transaction, after the events were accepted (the outbox marks its rows processed). */
  readonly settle?: (tx: Repositories, events: readonly IncomingEvent[]) => Promise<void>;
}

export type IntakeResult = AcceptResult & { readonly taken: number };

/** Accepts one batch of an input; see `createIntake`. */
export type Intake = (batch: IntakeBatch) => Promise<IntakeResult>;

const NOTHING: AcceptResult = { created: 0, duplicates: 0, skipped: 0, deadLettered: 0, rejected: 0, leased: [] };

/**
 * The intake sequence, the same for every input: reserve free slots → one transaction (take the
 * events, create their deliveries — those that fit in the slots already leased — and settle) →
 * start the leased ones → wake the scheduler for the rest. A failed transaction frees the slots.
 */
export function createIntake(deps: IntakeDeps): Intake {
  const { slots } = deps;
  return async (batch) => {
    const reserved = slots.reserve(batch.maxEvents);
    let result: IntakeResult;
    try {
      result = await deps.transaction(async (tx) => {
        const events = await batch.take(tx);
        const accepted = events.length === 0 ? NOTHING : await acceptEvents(deps.accept, tx, events, { count: reserved, leaseMs: deps.leaseMs });
        await batch.settle?.(tx, events);
        return { ...accepted, taken: events.length };
      });
    } catch (error) {
      slots.adopt(reserved, []);
      throw error;
    }
    slots.adopt(reserved, result.leased);
    for (let i = 0; i < result.rejected; i++) (deps.metrics ?? noopMetrics).deliveryEnded({ outcome: "failed", reason: "rejected" });
    if (result.created > result.leased.length) slots.wake();
    return result;
  };
}
