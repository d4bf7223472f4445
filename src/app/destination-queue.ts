import type { ClaimedDelivery } from "../ports/delivery-store.ts";

/**
 * Claimed deliveries waiting in this process for a slot of their destination, first in first
 * out per destination. They stay leased; how many may wait is the slot ledger's decision.
 */
export interface DestinationQueue {
  push(destination: string, delivery: ClaimedDelivery): void;
  /** The delivery waiting longest for `destination`, removed; undefined when none waits. */
  shift(destination: string): ClaimedDelivery | undefined;
  /** Every waiting delivery, removed. */
  takeAll(): ClaimedDelivery[];
}

export function createDestinationQueue(): DestinationQueue {
  const byDestination = new Map<string, ClaimedDelivery[]>();
  return {
    push(destination, delivery) {
      const waiting = byDestination.get(destination);
      if (waiting === undefined) byDestination.set(destination, [delivery]);
      else waiting.push(delivery);
    },
    shift(destination) {
      const waiting = byDestination.get(destination);
      const next = waiting?.shift();
      if (waiting?.length === 0) byDestination.delete(destination);
      return next;
    },
    takeAll() {
      const all = [...byDestination.values()].flat();
      byDestination.clear();
      return all;
    },
  };
}
