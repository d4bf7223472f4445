import type { ClaimedDelivery } from "../ports/delivery-store.ts";
import type { IncomingEvent } from "../ports/event-source.ts";
import { type Metrics, noopMetrics } from "../ports/metrics.ts";
import type { Repositories, RunInTransaction } from "../ports/transactor.ts";
import { createGroupCommit, type Waiting as GroupWaiting } from "./group-commit.ts";
import { acceptEventGroups, type AcceptEventsDeps, type AcceptResult } from "./accept-events.ts";

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
  /**
   * Most events (by the batches' `maxEvents`) one transaction carries when batches wait for it;
   * a larger batch goes alone. 1,000 by default.
   */
  readonly maxGroupEvents?: number;
}

/** One batch of an input: its events, read inside the intake transaction. */
export interface IntakeBatch {
  /** Most events `take` can return: slots are reserved for at most this many before the transaction. */
  readonly maxEvents: number;
  /** In the transaction: the events (the outbox claims its rows here, marking them processed). */
  readonly take: (tx: Repositories) => Promise<readonly IncomingEvent[]>;
}

export type IntakeResult = AcceptResult & { readonly taken: number };

/** Accepts one batch of an input; see `createIntake`. */
export type Intake = (batch: IntakeBatch) => Promise<IntakeResult>;

/** A batch waiting for its turn, and its caller's promise. */
type Waiting = GroupWaiting<IntakeBatch, IntakeResult>;

const DEFAULT_MAX_GROUP_EVENTS = 1_000;

/**
 * The intake sequence, the same for every input: reserve free slots → one transaction (take the
 * events, create their deliveries — those that fit in the slots already leased) →
 * start the leased ones → wake the scheduler for the rest. A failed transaction frees the slots.
 *
 * Group commit, as in `batched-completion.ts`: a batch goes at once when no intake transaction
 * is in flight; the batches that arrive meanwhile wait and then share the next transaction (one
 * look-up, one insert, one commit). Nothing waits on a timer. When a shared transaction fails,
 * each of its batches is run again alone, so a batch the database refuses fails only its own
 * caller, who retries or isolates it as before.
 */
export function createIntake(deps: IntakeDeps): Intake {
  const maxGroupEvents = deps.maxGroupEvents ?? DEFAULT_MAX_GROUP_EVENTS;
  return createGroupCommit<IntakeBatch, IntakeResult>(
    (queue) => nextGroup(queue, maxGroupEvents),
    (group) => intakeGroup(deps, group),
  );
}

/** Takes the batches of the next transaction off the queue: the first, and those after it while they fit in `maxEvents`. */
function nextGroup(queue: Waiting[], maxEvents: number): Waiting[] {
  let events = queue[0]!.item.maxEvents;
  let count = 1;
  while (count < queue.length && events + queue[count]!.item.maxEvents <= maxEvents) events += queue[count++]!.item.maxEvents;
  return queue.splice(0, count);
}

/** Runs the group in one transaction; if that fails, each batch again alone, each caller getting its own outcome. */
async function intakeGroup(deps: IntakeDeps, group: readonly Waiting[]): Promise<void> {
  try {
    const results = await intakeTogether(deps, group.map((waiting) => waiting.item));
    group.forEach((waiting, i) => waiting.resolve(results[i]!));
    return;
  } catch (error) {
    if (group.length === 1) {
      group[0]!.reject(error);
      return;
    }
  }
  for (const waiting of group) {
    try {
      const [result] = await intakeTogether(deps, [waiting.item]);
      waiting.resolve(result!);
    } catch (error) {
      waiting.reject(error);
    }
  }
}

/** The intake sequence for some batches in one transaction; a result per batch, in order. */
async function intakeTogether(deps: IntakeDeps, batches: readonly IntakeBatch[]): Promise<IntakeResult[]> {
  const { slots } = deps;
  const reserved = slots.reserve(batches.reduce((sum, batch) => sum + batch.maxEvents, 0));
  let results: IntakeResult[];
  try {
    results = await deps.transaction(async (tx) => {
      const taken: (readonly IncomingEvent[])[] = [];
      for (const batch of batches) taken.push(await batch.take(tx));
      const accepted = await acceptEventGroups(deps.accept, tx, taken, { count: reserved, leaseMs: deps.leaseMs });
      return accepted.map((result, i) => ({ ...result, taken: taken[i]!.length }));
    });
  } catch (error) {
    slots.adopt(reserved, []);
    throw error;
  }
  const leased = results.flatMap((result) => result.leased);
  slots.adopt(reserved, leased);
  const rejected = results.reduce((sum, result) => sum + result.rejected, 0);
  for (let i = 0; i < rejected; i++) (deps.metrics ?? noopMetrics).deliveryEnded({ outcome: "failed", reason: "rejected" });
  if (results.some((result) => result.created > result.leased.length)) slots.wake();
  return results;
}
