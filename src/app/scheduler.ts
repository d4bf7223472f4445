import type { Clock } from "../ports/clock.ts";
import type { ClaimedDelivery, DeliveryStore } from "../ports/delivery-store.ts";
import type { Logger } from "../ports/logger.ts";
import { deliveryLogFields } from "../shared/delivery-log-fields.ts";
import { errorText } from "../shared/error-text.ts";
import { runClaimLoop } from "./claim-loop.ts";
import { createDestinationPace, type DestinationPace } from "./destination-pace.ts";
import { createDestinationQueue, type DestinationQueue } from "./destination-queue.ts";
import { createSlotLedger, type SlotLedger } from "./slot-ledger.ts";
import { createWakeSignal, type WakeSignal } from "./wake-signal.ts";

export interface SchedulerOptions {
  readonly deliveries: DeliveryStore;
  /**
   * Makes one attempt and records it; must not throw for receiver failures. Calls
   * `freeDestination` once the exchange with the receiver is over (before the attempt is
   * recorded): the destination's slot is free from then on, while the process-wide slot is
   * held until the promise settles.
   */
  readonly deliver: (delivery: ClaimedDelivery, freeDestination: () => void) => Promise<unknown>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Most attempts in flight at once. */
  readonly concurrency: number;
  /** How long a claimed delivery stays leased to this process, ms. Longer than one attempt can take. */
  readonly leaseMs: number;
  /** Longest sleep before looking again for work created by other processes, ms. */
  readonly pollIntervalMs: number;
  /** How long shutdown waits for in-flight attempts before giving their leases back, ms. */
  readonly drainTimeoutMs?: number;
  /**
   * Most attempts in flight to one destination (URL origin), so that slow receivers cannot take
   * every slot. A claimed delivery over the limit waits for a slot of its destination, or is given
   * back, due again when that destination is expected to have room (see `destination-pace.ts`).
   */
  readonly perDestinationConcurrency?: number;
}

export interface Scheduler {
  /** Claims one batch of due deliveries (up to the free slots) and waits until each is attempted. Returns how many. */
  runOnce(): Promise<number>;
  /** Claims and delivers until `signal` aborts, then drains (see `drainTimeoutMs`) and resolves. */
  run(signal: AbortSignal): Promise<void>;
  /** New due work was created in this process: stop sleeping and claim now (and reserve nothing until it is claimed). */
  wake(): void;
  /** Attempts in flight now. */
  inFlight(): number;
  /** Claimed deliveries waiting now for a slot of their destination. */
  waitingForDestination(): number;
  /**
   * Holds up to `max` free slots for deliveries this process is about to create, so they can be
   * created already leased and start without a claim. Holds none while due work waits in the
   * database (the last claim filled every slot it asked for): that goes first. Returns how
   * many; each reservation must be settled with `adopt`.
   */
  reserve(max: number): number;
  /** Starts deliveries created leased into `reserved` reserved slots; the unused slots are freed. */
  adopt(reserved: number, deliveries: readonly ClaimedDelivery[]): void;
}

/** A delivery whose destination is at its limit is due again at least this much later, ms... */
const DESTINATION_BUSY_DEFER_MS = 1_000;
/** ...and at most this much later, however slow the destination has been, ms. */
const DESTINATION_BUSY_MAX_DEFER_MS = 5 * 60_000;
/** How long the scheduler claims fewer after a claim had to give deliveries back, ms. */
const OVERFLOW_MEMORY_MS = 1_000;

/**
 * Starts leased deliveries within the slot ledger's limits and records nothing itself: each
 * attempt is `deliver`'s. Claiming is the claim loop's (`claim-loop.ts`); the counts are the
 * ledger's (`slot-ledger.ts`); the deliveries waiting for their destination are the
 * destination queue's; when a given-back delivery is due again is the destination pace's.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const perDestination = options.perDestinationConcurrency ?? options.concurrency;
  const parts: Parts = {
    options,
    ledger: createSlotLedger({ concurrency: options.concurrency, perDestination, overflowMemoryMs: OVERFLOW_MEMORY_MS }),
    pace: createDestinationPace({ limit: perDestination, minDeferMs: DESTINATION_BUSY_DEFER_MS, maxDeferMs: DESTINATION_BUSY_MAX_DEFER_MS }),
    queue: createDestinationQueue(),
    inFlight: new Map(),
    wakeSignal: createWakeSignal(),
    slotFreed: createWakeSignal(),
  };
  const { ledger } = parts;
  return {
    async runOnce() {
      const { claimed, released } = await claimAndStart(parts, Math.max(ledger.free(), 0));
      await released;
      await idle(parts);
      return claimed;
    },
    async run(signal) {
      await runClaimLoop({
        ledger,
        clock: options.clock,
        logger: options.logger,
        concurrency: options.concurrency,
        pollIntervalMs: options.pollIntervalMs,
        overflowMemoryMs: OVERFLOW_MEMORY_MS,
        claimAndStart: (limit) => claimAndStart(parts, limit),
        nextDueAt: () => options.deliveries.nextDueAt(),
        wakeSignal: parts.wakeSignal,
        slotFreed: parts.slotFreed,
        signal,
      });
      await drain(parts);
    },
    wake() {
      ledger.dueWorkCreated();
      parts.wakeSignal.wake();
    },
    inFlight: () => parts.inFlight.size,
    waitingForDestination: () => ledger.waitingInAll(),
    reserve: (max) => ledger.reserve(max, options.clock.now().getTime()),
    adopt(reserved, adopted) {
      ledger.unreserve(reserved);
      // Shutting down: give the leases back at once rather than let them run out.
      if (ledger.stopped()) void release(parts, adopted.map((delivery) => ({ delivery })));
      else startLeased(parts, adopted);
      parts.slotFreed.wake();
    },
  };
}

/** What the scheduler's steps share. */
interface Parts {
  readonly options: SchedulerOptions;
  readonly ledger: SlotLedger;
  readonly pace: DestinationPace;
  readonly queue: DestinationQueue;
  /** The attempts in flight, by delivery id. */
  readonly inFlight: Map<string, { delivery: ClaimedDelivery; done: Promise<void> }>;
  /** Wakes the claim loop's sleep: due work was created in this process. */
  readonly wakeSignal: WakeSignal;
  /** Wakes the claim loop's wait for slots: an attempt ended. */
  readonly slotFreed: WakeSignal;
}

/**
 * Starts what the ledger has room for, keeps waiting what may wait for its destination, and
 * gives the rest back in one statement, each due when its destination should have room.
 * Returns how many of those are due again within the overflow memory, and the give-back.
 * Keeping a blocked delivery waiting rather than giving it back: 569 -> 1,642 deliveries/s to
 * one receiver at limit 16 (docs/decisions.md).
 */
function startLeased(parts: Parts, leased: readonly ClaimedDelivery[]): { comingBackSoon: number; released: Promise<void> } {
  const { ledger, pace, queue } = parts;
  const at = parts.options.clock.now().getTime();
  const givenBack: { delivery: ClaimedDelivery; dueAt: Date }[] = [];
  let comingBackSoon = 0;
  for (const delivery of leased) {
    const destination = destinationOf(delivery.url);
    const placement = ledger.place(destination);
    if (placement === "start") start(parts, delivery, destination);
    else if (placement === "wait") queue.push(destination, delivery);
    else {
      // A slow destination's are due much later and do not count: later claims move the rest of its backlog out of the way.
      const dueAt = pace.giveBackAt(destination, at, ledger.waiting(destination));
      if (dueAt - at <= OVERFLOW_MEMORY_MS) comingBackSoon++;
      givenBack.push({ delivery, dueAt: new Date(dueAt) });
    }
  }
  ledger.overflowed(comingBackSoon, at);
  return { comingBackSoon, released: release(parts, givenBack) };
}

/** Runs one attempt in a slot the ledger has already counted. */
function start(parts: Parts, delivery: ClaimedDelivery, destination: string): void {
  const { options, ledger, pace } = parts;
  const now = () => options.clock.now().getTime();
  const startedAt = now();
  pace.started(destination, startedAt);
  let destinationFreed = false;
  // The destination's part ends with the response: the next delivery to it starts while this
  // attempt is recorded (966 -> 1,205 deliveries/s to one receiver at limit 16, docs/decisions.md).
  const freeDestination = () => {
    if (destinationFreed) return;
    destinationFreed = true;
    pace.ended(destination, startedAt, now());
    if (!ledger.exchangeEnded(destination)) return;
    const next = parts.queue.shift(destination);
    if (next !== undefined) start(parts, next, destination);
  };
  const done = options
    .deliver(delivery, freeDestination)
    .then(
      () => undefined,
      (error: unknown) => {
        // The lease runs out and the delivery is claimed again: nothing is lost. The attempt is the one that just ended.
        const fields = { ...deliveryLogFields(delivery, delivery.attempts + 1), error: errorText(error) };
        options.logger.error("attempt could not be recorded; it will be retried when its lease expires", fields);
      },
    )
    .finally(() => {
      freeDestination();
      parts.inFlight.delete(delivery.id);
      ledger.attemptEnded();
      parts.slotFreed.wake();
    });
  parts.inFlight.set(delivery.id, { delivery, done });
}

/** Gives leases back, each due at its `dueAt` (or now), in one statement; a failure only logs (the leases expire). */
function release(parts: Parts, given: readonly { delivery: ClaimedDelivery; dueAt?: Date }[]): Promise<void> {
  if (given.length === 0) return Promise.resolve();
  const { deliveries, clock, logger } = parts.options;
  const leases = given.map(({ delivery, dueAt }) => ({ deliveryId: delivery.id, leaseToken: delivery.leaseToken, dueAt }));
  return deliveries.releaseLeases({ leases, now: clock.now() }).then(
    () => undefined,
    (error: unknown) =>
      logger.warn("could not give leases back; they will expire", { delivery_ids: given.map(({ delivery }) => delivery.id), error: errorText(error) }),
  );
}

/** Claims up to `limit` due deliveries (their slots held meanwhile) and starts them. */
async function claimAndStart(parts: Parts, limit: number): Promise<{ claimed: number; comingBackSoon: number; released: Promise<void> }> {
  const { deliveries, clock, leaseMs } = parts.options;
  parts.ledger.claimStarted(limit);
  let claimed: readonly ClaimedDelivery[] | null = null;
  try {
    claimed = await deliveries.claimDueDeliveries({ now: clock.now(), limit, leaseMs });
  } finally {
    parts.ledger.claimEnded(limit, claimed?.length ?? null);
  }
  return { claimed: claimed.length, ...startLeased(parts, claimed) };
}

/** Resolves once no attempt is in flight (deliveries waiting for their destination start as slots free). */
async function idle(parts: Parts): Promise<void> {
  while (parts.inFlight.size > 0) await Promise.all([...parts.inFlight.values()].map((entry) => entry.done));
}

/** Gives back what waits for a destination, waits for the attempts in flight, and gives back the leases of those that outlast `drainTimeoutMs`. */
async function drain(parts: Parts): Promise<void> {
  parts.ledger.stop();
  await release(parts, parts.queue.takeAll().map((delivery) => ({ delivery })));
  const timedOut = await Promise.race([
    idle(parts).then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), parts.options.drainTimeoutMs ?? 30_000).unref?.()),
  ]);
  if (!timedOut) return;
  const unfinished = [...parts.inFlight.values()].map((entry) => entry.delivery);
  parts.options.logger.warn("shutdown: giving back the leases of unfinished attempts", { count: unfinished.length });
  await release(parts, unfinished.map((delivery) => ({ delivery })));
}

/** The destination a concurrency limit applies to: the URL's origin. */
function destinationOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
