/**
 * Every count of the scheduler's slots, in one pure object (no I/O, no timers; times are passed
 * in as ms since the epoch). A slot is held by an attempt in flight, by a delivery waiting for
 * its destination, by a reservation for deliveries an input is about to create leased, and by a
 * claim in flight for each row it asked for. The claim loop asks the ledger what it may do and
 * tells it what happened; the ledger never exceeds its limits, and throws if told to free a slot
 * that is not held.
 */
export interface SlotLedgerOptions {
  /** Most slots held at once: attempts in flight, deliveries waiting, reservations and claims. */
  readonly concurrency: number;
  /** Most exchanges in flight to one destination. */
  readonly perDestination: number;
  /** How long a claim that had to give deliveries back keeps later claims smaller, ms. */
  readonly overflowMemoryMs: number;
}

/** What to do with a leased delivery: start it, keep it waiting for its destination, or give it back. */
export type Placement = "start" | "wait" | "give-back";

export interface SlotLedger {
  /** Slots held now. */
  held(): number;
  /** Attempts in flight (each holds a slot until it is recorded). */
  attempts(): number;
  /** Exchanges in flight to `destination`. */
  exchanges(destination: string): number;
  /** Deliveries waiting in this process for a slot of `destination`. */
  waiting(destination: string): number;
  /** Deliveries waiting in this process for a slot of any destination. */
  waitingInAll(): number;
  /** Whether a claim that gave deliveries back still makes claims smaller at `now`. */
  overflowing(now: number): boolean;
  /** When the overflow memory ends, ms since the epoch (meaningful while overflowing). */
  overflowEndsAt(): number;
  /** Slots not held. */
  free(): number;
  /** Whether `stop` was called. */
  stopped(): boolean;
  /** How many deliveries may be claimed at `now`: free slots, less the last overflow while remembered. */
  claimable(now: number): number;

  /** A claim asking for `limit` rows is in flight: its slots are held until `claimEnded`. */
  claimStarted(limit: number): void;
  /** The claim returned `got` of the `asked` rows (null: it failed): due work may be left when it got all it asked for. */
  claimEnded(asked: number, got: number | null): void;
  /** Due work was created that only a claim will find: reservations wait until a claim finds no more. */
  dueWorkCreated(): void;

  /** Holds up to `max` free slots for deliveries about to be created leased; none while due work may wait or when stopping. */
  reserve(max: number, now: number): number;
  /** Frees `count` reserved slots, before their deliveries are placed. */
  unreserve(count: number): void;

  /** Places a leased delivery that already holds a slot's worth of room (claimed or reserved) and counts it. */
  place(destination: string): Placement;
  /** `count` of the deliveries just placed were given back and are due again soon: claim that many fewer for a while. */
  overflowed(count: number, now: number): void;
  /**
   * The exchange with `destination` ended: its destination slot is free. Returns true when a
   * delivery waiting for that destination takes it (now counted as started), false otherwise.
   */
  exchangeEnded(destination: string): boolean;
  /** An attempt was recorded (or abandoned): its process-wide slot is free. */
  attemptEnded(): void;
  /** Shutting down: no more reservations, and nothing waiting starts; returns how many waiting deliveries were dropped. */
  stop(): number;
}

export function createSlotLedger(options: SlotLedgerOptions): SlotLedger {
  return new Ledger(options);
}

class Ledger implements SlotLedger {
  readonly #concurrency: number;
  readonly #perDestination: number;
  readonly #overflowMemoryMs: number;
  /**
   * Deliveries one destination may keep waiting for a slot: up to its limit, but never so many
   * that the destination holds more than half of all slots (in flight plus waiting), since a
   * waiting delivery holds a slot that another destination could use.
   */
  readonly #waitingPerDestination: number;
  readonly #exchanges = new Map<string, number>();
  readonly #waiting = new Map<string, number>();
  #attempts = 0;
  #waitingTotal = 0;
  #reserved = 0;
  #claiming = 0;
  #overflow = 0;
  #overflowAt = 0;
  /** Whether the last claim filled every slot it asked for, so due work may still wait. Unknown before the first. */
  #backlogged = true;
  #stopping = false;

  constructor(options: SlotLedgerOptions) {
    this.#concurrency = options.concurrency;
    this.#perDestination = options.perDestination;
    this.#overflowMemoryMs = options.overflowMemoryMs;
    this.#waitingPerDestination = Math.min(options.perDestination, Math.max(0, Math.floor(options.concurrency / 2) - options.perDestination));
  }

  held(): number {
    return this.#attempts + this.#waitingTotal + this.#reserved + this.#claiming;
  }
  attempts(): number {
    return this.#attempts;
  }
  exchanges(destination: string): number {
    return this.#exchanges.get(destination) ?? 0;
  }
  waiting(destination: string): number {
    return this.#waiting.get(destination) ?? 0;
  }
  waitingInAll(): number {
    return this.#waitingTotal;
  }
  overflowing(now: number): boolean {
    return this.#overflow > 0 && now - this.#overflowAt < this.#overflowMemoryMs;
  }
  overflowEndsAt(): number {
    return this.#overflowAt + this.#overflowMemoryMs;
  }
  free(): number {
    return this.#concurrency - this.held();
  }
  stopped(): boolean {
    return this.#stopping;
  }
  claimable(now: number): number {
    return Math.max(this.free() - (this.overflowing(now) ? this.#overflow : 0), 0);
  }

  claimStarted(limit: number): void {
    this.#claiming = limit;
  }
  claimEnded(asked: number, got: number | null): void {
    this.#claiming = 0;
    if (asked > 0 && got !== null) this.#backlogged = got === asked;
  }
  dueWorkCreated(): void {
    this.#backlogged = true;
  }

  reserve(max: number, now: number): number {
    if (this.#stopping || this.#backlogged) return 0;
    const count = Math.min(Math.max(0, Math.floor(max)), this.claimable(now));
    this.#reserved += count;
    return count;
  }
  unreserve(count: number): void {
    if (count > this.#reserved) throw new Error(`slot ledger: freed ${count} reserved slots, ${this.#reserved} held`);
    this.#reserved -= count;
  }

  place(destination: string): Placement {
    if (this.exchanges(destination) < this.#perDestination) {
      add(this.#exchanges, destination, 1);
      this.#attempts++;
      return "start";
    }
    if (this.waiting(destination) < this.#waitingPerDestination && !this.#stopping) {
      add(this.#waiting, destination, 1);
      this.#waitingTotal++;
      return "wait";
    }
    return "give-back";
  }
  overflowed(count: number, now: number): void {
    if (count <= 0) return;
    this.#overflow = count;
    this.#overflowAt = now;
  }
  exchangeEnded(destination: string): boolean {
    add(this.#exchanges, destination, -1);
    if (this.#stopping || this.waiting(destination) === 0) return false;
    add(this.#waiting, destination, -1);
    this.#waitingTotal--;
    add(this.#exchanges, destination, 1);
    this.#attempts++;
    return true;
  }
  attemptEnded(): void {
    if (this.#attempts === 0) throw new Error("slot ledger: an attempt ended that was not in flight");
    this.#attempts--;
  }
  stop(): number {
    this.#stopping = true;
    const dropped = this.#waitingTotal;
    this.#waiting.clear();
    this.#waitingTotal = 0;
    return dropped;
  }
}

/** Adds `delta` to a destination's count; a count never goes below zero, and a zero count is forgotten. */
function add(counts: Map<string, number>, destination: string, delta: number): void {
  const next = (counts.get(destination) ?? 0) + delta;
  if (next < 0) throw new Error(`slot ledger: freed a slot of ${destination} that was not held`);
  if (next === 0) counts.delete(destination);
  else counts.set(destination, next);
}
