import { describe, expect, it } from "vitest";
import { createDestinationPace } from "../../src/app/destination-pace.ts";

const SLOW = "https://slow.example";
const FAST = "https://fast.example";

function pace() {
  return createDestinationPace({ limit: 4, minDeferMs: 1_000, maxDeferMs: 60_000 });
}

/** Runs `count` exchanges with `destination`, each taking `ms`, starting at `from`; returns when the last ended. */
function exchanges(p: ReturnType<typeof pace>, destination: string, count: number, ms: number, from = 0): number {
  let at = from;
  for (let i = 0; i < count; i++) {
    p.started(destination, at);
    p.ended(destination, at, at + ms);
    at += ms;
  }
  return at;
}

describe("destination pace", () => {
  it("spaces a slow destination's given-back deliveries by its exchange time divided by its limit, after those waiting in the process", () => {
    const p = pace();
    const now = exchanges(p, SLOW, 3, 2_000);
    // 2,000 ms per exchange at a limit of 4: one delivery every 500 ms; 3 wait ahead in the process.
    expect(p.giveBackAt(SLOW, now, 3)).toBe(now + 4 * 500);
    expect(p.giveBackAt(SLOW, now, 3)).toBe(now + 5 * 500);
    expect(p.giveBackAt(SLOW, now, 3)).toBe(now + 6 * 500);
  });

  it("gives a fast destination's deliveries back due after the minimum, and another destination's are spaced on their own", () => {
    const p = pace();
    const now = exchanges(p, FAST, 10, 10);
    exchanges(p, SLOW, 1, 4_000, now - 4_000);
    expect(p.giveBackAt(FAST, now, 4)).toBe(now + 1_000);
    expect(p.giveBackAt(SLOW, now, 0)).toBe(now + 1_000);
    expect(p.giveBackAt(FAST, now, 4)).toBe(now + 1_003);
    expect(p.giveBackAt(SLOW, now, 0)).toBe(now + 2_000);
  });

  it("never defers a delivery beyond the maximum, however long the destination's backlog", () => {
    const p = pace();
    const now = exchanges(p, SLOW, 1, 30_000);
    const due = Array.from({ length: 20 }, () => p.giveBackAt(SLOW, now, 0));
    expect(due.slice(0, 7)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => now + n * 7_500));
    expect(due.slice(8).every((at) => at === now + 60_000)).toBe(true);
  });

  it("before any exchange has ended, takes the oldest one in flight as the least an exchange takes", () => {
    const p = pace();
    p.started(SLOW, 0);
    p.started(SLOW, 3_000);
    // Hanging for 8 s so far at a limit of 4: at least 2 s per delivery.
    expect(p.giveBackAt(SLOW, 8_000, 0)).toBe(10_000);
    expect(p.giveBackAt(SLOW, 8_000, 0)).toBe(12_000);
  });

  it("starts a destination's spacing afresh once the deliveries given back before are due", () => {
    const p = pace();
    const now = exchanges(p, SLOW, 1, 8_000);
    expect(p.giveBackAt(SLOW, now, 0)).toBe(now + 2_000);
    expect(p.giveBackAt(SLOW, now + 10_000, 0)).toBe(now + 12_000);
  });

  it("forgets the exchange time of a destination idle for more than a minute", () => {
    const p = pace();
    const idleSince = exchanges(p, SLOW, 1, 8_000);
    const later = idleSince + 120_000;
    p.started(FAST, later); // any activity lets idle destinations go
    expect(p.giveBackAt(SLOW, later, 0)).toBe(later + 1_000);
  });
});
