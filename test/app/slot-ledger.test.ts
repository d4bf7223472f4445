import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSlotLedger, type SlotLedger } from "../../src/app/slot-ledger.ts";

const ledgerOf = (concurrency: number, perDestination: number) => createSlotLedger({ concurrency, perDestination, overflowMemoryMs: 1_000 });

describe("slot ledger", () => {
  it("offers every slot for a claim at first, and holds the slots of a claim in flight until it ends", () => {
    const ledger = ledgerOf(8, 8);
    expect(ledger.claimable(0)).toBe(8);
    ledger.claimStarted(8);
    expect(ledger.claimable(0)).toBe(0);
    ledger.claimEnded(8, 3);
    expect(ledger.claimable(0)).toBe(8);
  });

  it("starts a delivery while its destination is under its limit, then keeps some waiting, then gives the rest back", () => {
    // 16 slots, 4 per destination: at most min(4, 16/2 - 4) = 4 may wait for one destination.
    const ledger = ledgerOf(16, 4);
    const placements = Array.from({ length: 10 }, () => ledger.place("a"));
    expect(placements).toEqual([...Array(4).fill("start"), ...Array(4).fill("wait"), "give-back", "give-back"]);
    expect(ledger.exchanges("a")).toBe(4);
    expect(ledger.waiting("a")).toBe(4);
    expect(ledger.held()).toBe(8);
    expect(ledger.place("b")).toBe("start");
    expect(ledger.waitingInAll()).toBe(4);
  });

  it("lets no delivery wait when a destination's limit is half the slots or more: waiting would take slots from the others", () => {
    const ledger = ledgerOf(8, 4);
    expect(Array.from({ length: 5 }, () => ledger.place("a"))).toEqual(["start", "start", "start", "start", "give-back"]);
  });

  it("hands a freed destination slot to the delivery waiting for it, keeping the process-wide slot held", () => {
    const ledger = ledgerOf(16, 1);
    expect(ledger.place("a")).toBe("start");
    expect(ledger.place("a")).toBe("wait");
    expect(ledger.exchangeEnded("a")).toBe(true);
    expect(ledger.exchanges("a")).toBe(1);
    expect(ledger.waiting("a")).toBe(0);
    expect(ledger.waitingInAll()).toBe(0);
    expect(ledger.attempts()).toBe(2);
    ledger.attemptEnded();
    expect(ledger.held()).toBe(1);
    expect(ledger.exchangeEnded("a")).toBe(false);
    ledger.attemptEnded();
    expect(ledger.held()).toBe(0);
  });

  it("reserves nothing before the first claim, nor after a claim that came back full or a wake-up, since due work goes first", () => {
    const ledger = ledgerOf(8, 8);
    expect(ledger.reserve(4, 0)).toBe(0);
    ledger.claimStarted(8);
    ledger.claimEnded(8, 2);
    expect(ledger.reserve(4, 0)).toBe(4);
    expect(ledger.reserve(10, 0)).toBe(4);
    ledger.unreserve(8);
    ledger.dueWorkCreated();
    expect(ledger.reserve(4, 0)).toBe(0);
    ledger.claimStarted(8);
    ledger.claimEnded(8, 8);
    expect(ledger.reserve(4, 0)).toBe(0);
  });

  it("learns nothing about due work from a claim that failed", () => {
    const ledger = ledgerOf(8, 8);
    ledger.claimStarted(8);
    ledger.claimEnded(8, 2);
    ledger.claimStarted(8);
    ledger.claimEnded(8, null);
    expect(ledger.held()).toBe(0);
    expect(ledger.reserve(4, 0)).toBe(4);
  });

  it("claims fewer by the overflow of the last claim for the overflow memory, then all free slots again", () => {
    const ledger = ledgerOf(8, 8);
    ledger.overflowed(3, 1_000);
    expect(ledger.overflowing(1_500)).toBe(true);
    expect(ledger.claimable(1_500)).toBe(5);
    expect(ledger.overflowEndsAt()).toBe(2_000);
    expect(ledger.overflowing(2_000)).toBe(false);
    expect(ledger.claimable(2_000)).toBe(8);
  });

  it("once stopped, reserves nothing, starts nothing that waits, and drops what waited", () => {
    const ledger = ledgerOf(16, 1);
    ledger.claimStarted(1);
    ledger.claimEnded(1, 0);
    ledger.place("a");
    ledger.place("a");
    expect(ledger.stop()).toBe(1);
    expect(ledger.waitingInAll()).toBe(0);
    expect(ledger.stopped()).toBe(true);
    expect(ledger.reserve(4, 0)).toBe(0);
    expect(ledger.exchangeEnded("a")).toBe(false);
    expect(ledger.place("a")).toBe("start");
    expect(ledger.place("a")).toBe("give-back");
  });

  it("refuses to free a slot that is not held", () => {
    const ledger = ledgerOf(4, 4);
    expect(() => ledger.attemptEnded()).toThrow(/not in flight/);
    expect(() => ledger.exchangeEnded("a")).toThrow(/not held/);
    expect(() => ledger.unreserve(1)).toThrow(/reserved/);
  });
});

/**
 * A model of the scheduler driving the ledger: claims ask for what is claimable and place what
 * comes back, reservations are adopted (placed) or returned, exchanges and attempts end in any
 * order the real world allows. The laws hold after every step.
 */
type Step =
  | { kind: "claim"; destinations: number[] }
  | { kind: "reserve"; max: number; adopt: number[] }
  | { kind: "exchange-ends"; pick: number }
  | { kind: "attempt-ends"; pick: number }
  | { kind: "wake" }
  | { kind: "time"; ms: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("claim" as const), destinations: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20 }) }),
  fc.record({ kind: fc.constant("reserve" as const), max: fc.integer({ min: 0, max: 20 }), adopt: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 20 }) }),
  fc.record({ kind: fc.constant("exchange-ends" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("attempt-ends" as const), pick: fc.nat() }),
  fc.constant({ kind: "wake" as const }),
  fc.record({ kind: fc.constant("time" as const), ms: fc.integer({ min: 0, max: 2_000 }) }),
);

interface Attempt {
  readonly destination: string;
  exchangeOver: boolean;
}

/** Places what a claim or an adoption brought; what is given back is counted as overflow, like the scheduler does. */
function placeAll(ledger: SlotLedger, destinations: readonly number[], attempts: Attempt[], waiting: string[], now: number): void {
  let givenBack = 0;
  for (const d of destinations) {
    const destination = `d${d}`;
    const placement = ledger.place(destination);
    if (placement === "start") attempts.push({ destination, exchangeOver: false });
    else if (placement === "wait") waiting.push(destination);
    else givenBack++;
  }
  ledger.overflowed(givenBack, now);
}

describe("slot ledger laws", () => {
  it("never holds more slots than the concurrency, never runs more exchanges to a destination than its limit, and frees every slot taken exactly once", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), fc.array(stepArbitrary, { maxLength: 60 }), (concurrency, perDestination, steps) => {
        const ledger = ledgerOf(concurrency, perDestination);
        const attempts: Attempt[] = [];
        const waiting: string[] = [];
        let now = 0;
        for (const step of steps) {
          if (step.kind === "claim") {
            const limit = ledger.claimable(now);
            ledger.claimStarted(limit);
            const got = step.destinations.slice(0, limit);
            ledger.claimEnded(limit, got.length);
            placeAll(ledger, got, attempts, waiting, now);
          } else if (step.kind === "reserve") {
            const reserved = ledger.reserve(step.max, now);
            const adopted = step.adopt.slice(0, reserved);
            ledger.unreserve(reserved);
            placeAll(ledger, adopted, attempts, waiting, now);
          } else if (step.kind === "exchange-ends") {
            const open = attempts.filter((a) => !a.exchangeOver);
            const attempt = open[step.pick % Math.max(open.length, 1)];
            if (attempt === undefined) continue;
            attempt.exchangeOver = true;
            if (ledger.exchangeEnded(attempt.destination)) {
              const index = waiting.indexOf(attempt.destination);
              expect(index).toBeGreaterThanOrEqual(0);
              waiting.splice(index, 1);
              attempts.push({ destination: attempt.destination, exchangeOver: false });
            }
          } else if (step.kind === "attempt-ends") {
            // An attempt ends after its exchange (the scheduler frees the destination first).
            const over = attempts.filter((a) => a.exchangeOver);
            const attempt = over[step.pick % Math.max(over.length, 1)];
            if (attempt === undefined) continue;
            attempts.splice(attempts.indexOf(attempt), 1);
            ledger.attemptEnded();
          } else if (step.kind === "wake") {
            ledger.dueWorkCreated();
          } else {
            now += step.ms;
          }
          expect(ledger.held()).toBeLessThanOrEqual(concurrency);
          expect(ledger.held()).toBe(attempts.length + waiting.length);
          for (const d of ["d0", "d1", "d2", "d3"]) {
            const open = attempts.filter((a) => a.destination === d && !a.exchangeOver).length;
            expect(ledger.exchanges(d)).toBe(open);
            expect(open).toBeLessThanOrEqual(perDestination);
            expect(ledger.waiting(d)).toBe(waiting.filter((w) => w === d).length);
          }
        }
        // Everything ends: every slot comes back, and none is freed twice.
        for (;;) {
          const open = attempts.find((a) => !a.exchangeOver);
          if (open !== undefined) {
            open.exchangeOver = true;
            if (ledger.exchangeEnded(open.destination)) {
              waiting.splice(waiting.indexOf(open.destination), 1);
              attempts.push({ destination: open.destination, exchangeOver: false });
            }
            continue;
          }
          const over = attempts.pop();
          if (over === undefined) break;
          ledger.attemptEnded();
        }
        expect(waiting).toEqual([]);
        expect(ledger.held()).toBe(0);
        expect(ledger.claimable(now + 10_000)).toBe(concurrency);
        expect(() => ledger.attemptEnded()).toThrow();
      }),
      { numRuns: 500 },
    );
  });
});
