/**
 * The exchanges in flight to each destination, how fast each destination takes deliveries, and
 * so when a delivery given back because its destination is at its limit should be due again:
 * at the destination's own pace, not a flat second later, which left 5 of 80,000 healthy
 * deliveries waiting over 6 minutes behind a hanging origin (docs/decisions.md).
 */
export interface DestinationPaceOptions {
  /** Most attempts in flight to one destination. */
  readonly limit: number;
  /** A given-back delivery is due again no sooner than this, ms. */
  readonly minDeferMs: number;
  /**
   * Nor later than this, ms: a destination that recovers gets its backlog back within this
   * long; a longer cap means fewer claims of rows that cannot start yet (backlog ÷ cap a second).
   */
  readonly maxDeferMs: number;
}

export interface DestinationPace {
  /** Exchanges with `destination` in flight now. */
  inFlight(destination: string): number;
  /** An exchange with `destination` started at `at` (ms since the epoch). */
  started(destination: string, at: number): void;
  /** The exchange with `destination` that started at `startedAt` ended at `at`. */
  ended(destination: string, startedAt: number, at: number): void;
  /**
   * When a delivery to `destination`, given back at `now` while `waiting` others wait in this
   * process for a slot of it, should be due again (ms since the epoch). Successive calls space
   * the destination's deliveries by the time it needs per delivery.
   */
  giveBackAt(destination: string, now: number, waiting: number): number;
}

/** Weight of the newest exchange in the running mean of exchange times. */
const EXCHANGE_WEIGHT = 0.1;
/** How often idle destinations' state is dropped, ms. */
const SWEEP_EVERY_MS = 60_000;

interface Destination {
  /** Running mean of exchange times, ms; null until one ended. */
  exchangeMs: number | null;
  /** Start times of the exchanges in flight, ms. */
  readonly inFlight: number[];
  /** When the last delivery given back is due, ms. */
  lastDueAt: number;
}

export function createDestinationPace(options: DestinationPaceOptions): DestinationPace {
  const { limit, minDeferMs, maxDeferMs } = options;
  const destinations: Destinations = { byOrigin: new Map(), sweptAt: 0 };
  return {
    inFlight(destination) {
      return destinations.byOrigin.get(destination)?.inFlight.length ?? 0;
    },

    started(destination, at) {
      sweep(destinations, at);
      stateOf(destinations, destination).inFlight.push(at);
    },

    ended(destination, startedAt, at) {
      const state = destinations.byOrigin.get(destination);
      if (state === undefined) return;
      const index = state.inFlight.indexOf(startedAt);
      if (index >= 0) state.inFlight.splice(index, 1);
      const took = Math.max(0, at - startedAt);
      state.exchangeMs = state.exchangeMs === null ? took : state.exchangeMs + EXCHANGE_WEIGHT * (took - state.exchangeMs);
    },

    giveBackAt(destination, now, waiting) {
      sweep(destinations, now);
      const state = stateOf(destinations, destination);
      const each = msPerDelivery(state, limit, now);
      // The deliveries waiting in this process start first, then those given back before.
      const earliest = Math.max(now + minDeferMs, now + (waiting + 1) * each, state.lastDueAt + each);
      const dueAt = Math.round(Math.min(earliest, now + maxDeferMs));
      state.lastDueAt = dueAt;
      return dueAt;
    },
  };
}

/** Every destination seen lately, and when idle ones were last dropped (ms). */
interface Destinations {
  readonly byOrigin: Map<string, Destination>;
  sweptAt: number;
}

function stateOf(destinations: Destinations, destination: string): Destination {
  let state = destinations.byOrigin.get(destination);
  if (state === undefined) {
    state = { exchangeMs: null, inFlight: [], lastDueAt: 0 };
    destinations.byOrigin.set(destination, state);
  }
  return state;
}

/**
 * Drops, at most once a minute, destinations with nothing in flight and nothing given back
 * still to come due, so memory follows the destinations in use, not every one ever seen.
 */
function sweep(destinations: Destinations, now: number): void {
  if (now - destinations.sweptAt < SWEEP_EVERY_MS) return;
  destinations.sweptAt = now;
  for (const [destination, state] of destinations.byOrigin) {
    if (state.inFlight.length === 0 && state.lastDueAt <= now) destinations.byOrigin.delete(destination);
  }
}

/**
 * Time the destination needs per delivery at its limit, ms (Little's law: limit ÷ exchange
 * time is its rate). Before any exchange ended, the oldest one in flight is a lower bound on
 * the exchange time: a receiver that hangs is seen to be slow before its first timeout.
 */
function msPerDelivery(state: Destination, limit: number, now: number): number {
  const oldest = state.inFlight.length === 0 ? now : Math.min(...state.inFlight);
  return (state.exchangeMs ?? now - oldest) / limit;
}
