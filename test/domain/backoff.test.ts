import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyJitter,
  nextAttemptAt,
  parseRetryAfterMs,
  retryDelayMs,
  type BackoffPolicy,
} from "../../src/domain/backoff.ts";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

const defaults: BackoffPolicy = { maxAttempts: 10, baseDelayMs: 30 * SECOND, maxDelayMs: 24 * HOUR, jitter: 0 };
const now = new Date("2025-03-01T12:00:00.000Z");

const policies = fc.record({
  maxAttempts: fc.integer({ min: 1, max: 100 }),
  baseDelayMs: fc.integer({ min: 0, max: 10 * HOUR }),
  maxDelayMs: fc.integer({ min: 0, max: 7 * 24 * HOUR }),
  jitter: fc.double({ min: 0, max: 1, noNaN: true }),
});
const attempts = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
const randoms = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

describe("retryDelayMs", () => {
  it("follows the documented default schedule exactly", () => {
    const schedule = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => retryDelayMs(defaults, n));
    expect(schedule).toEqual([
      30 * SECOND,
      1 * MINUTE,
      2 * MINUTE,
      4 * MINUTE,
      8 * MINUTE,
      16 * MINUTE,
      32 * MINUTE,
      1 * HOUR + 4 * MINUTE,
      2 * HOUR + 8 * MINUTE,
    ]);
  });

  it("stops growing at the max delay", () => {
    expect(retryDelayMs(defaults, 12)).toBe(17 * HOUR + 4 * MINUTE);
    expect(retryDelayMs(defaults, 13)).toBe(24 * HOUR);
    expect(retryDelayMs(defaults, 14)).toBe(24 * HOUR);
  });

  it("stays at the max delay for attempt numbers where 2^n overflows", () => {
    expect(retryDelayMs(defaults, 1_100)).toBe(24 * HOUR);
    expect(retryDelayMs(defaults, Number.MAX_SAFE_INTEGER)).toBe(24 * HOUR);
  });

  it("gives zero, not NaN, for a zero base delay at any attempt", () => {
    expect(retryDelayMs({ ...defaults, baseDelayMs: 0 }, 5_000)).toBe(0);
  });

  it("never exceeds the max delay for any policy, attempt and random value", () => {
    fc.assert(
      fc.property(policies, attempts, randoms, (policy, n, random) => {
        const exact = retryDelayMs(policy, n);
        const jittered = applyJitter(exact, policy, random);
        expect(exact).toBeGreaterThanOrEqual(0);
        expect(exact).toBeLessThanOrEqual(policy.maxDelayMs);
        expect(jittered).toBeGreaterThanOrEqual(0);
        expect(jittered).toBeLessThanOrEqual(policy.maxDelayMs);
        const at = nextAttemptAt({ policy, attemptsMade: n, now, random, retryAfterMs: null });
        expect(at.getTime() - now.getTime()).toBeLessThanOrEqual(policy.maxDelayMs);
      }),
    );
  });
});

describe("applyJitter", () => {
  it("keeps the jittered delay within [d(1-j), d(1+j)] and within [0, max]", () => {
    fc.assert(
      fc.property(policies, attempts, randoms, (policy, n, random) => {
        const d = retryDelayMs(policy, n);
        const jittered = applyJitter(d, policy, random);
        expect(jittered).toBeGreaterThanOrEqual(Math.min(d * (1 - policy.jitter), policy.maxDelayMs));
        expect(jittered).toBeLessThanOrEqual(Math.min(d * (1 + policy.jitter), policy.maxDelayMs));
      }),
    );
  });

  it("leaves the delay unchanged when jitter is zero", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 24 * HOUR }), randoms, (d, random) => {
        expect(applyJitter(d, defaults, random)).toBe(d);
      }),
    );
  });

  it("maps the random value onto the jitter range from its low end to its high end", () => {
    const policy = { ...defaults, jitter: 0.1 };
    expect(applyJitter(60 * SECOND, policy, 0)).toBe(54 * SECOND);
    expect(applyJitter(60 * SECOND, policy, 0.5)).toBe(60 * SECOND);
    expect(applyJitter(60 * SECOND, policy, 0.9999999)).toBeCloseTo(66 * SECOND, -1);
  });

  it("clamps a jittered delay above the max back to the max", () => {
    expect(applyJitter(24 * HOUR, { ...defaults, jitter: 0.5 }, 0.99)).toBe(24 * HOUR);
  });
});

describe("parseRetryAfterMs", () => {
  it.each([
    ["0", 0],
    ["120", 120 * SECOND],
    [" 5 ", 5 * SECOND],
  ])("reads delta-seconds %j as %d ms", (value, ms) => {
    expect(parseRetryAfterMs(value, now)).toBe(ms);
  });

  it("reads an IMF-fixdate relative to now", () => {
    expect(parseRetryAfterMs("Sat, 01 Mar 2025 12:02:30 GMT", now)).toBe(150 * SECOND);
  });

  it("reads the obsolete RFC 850 date form", () => {
    expect(parseRetryAfterMs("Saturday, 01-Mar-25 12:02:30 GMT", now)).toBe(150 * SECOND);
  });

  it("reads the obsolete asctime date form", () => {
    expect(parseRetryAfterMs("Sat Mar  1 12:02:30 2025", now)).toBe(150 * SECOND);
  });

  it("gives zero for a date in the past", () => {
    expect(parseRetryAfterMs("Sun, 06 Nov 1994 08:49:37 GMT", now)).toBe(0);
  });

  it.each([
    "",
    "soon",
    "-5",
    "1.5",
    "5s",
    "Sat, 01 Mar 2025 12:02:30 UTC",
    "Sat, 31 Feb 2025 12:02:30 GMT",
    "Sat, 01 Mar 2025 25:00:00 GMT",
    "Sat, 01 Foo 2025 12:02:30 GMT",
    "2025-03-01T12:02:30Z",
  ])("rejects %j", (value) => {
    expect(parseRetryAfterMs(value, now)).toBeNull();
  });
});

describe("nextAttemptAt", () => {
  it("schedules the exact backoff after now when there is no Retry-After", () => {
    const at = nextAttemptAt({ policy: defaults, attemptsMade: 3, now, random: 0.7, retryAfterMs: null });
    expect(at.getTime() - now.getTime()).toBe(2 * MINUTE);
  });

  it("pushes the next attempt later to honour a longer Retry-After", () => {
    const at = nextAttemptAt({ policy: defaults, attemptsMade: 1, now, random: 0, retryAfterMs: 10 * MINUTE });
    expect(at.getTime() - now.getTime()).toBe(10 * MINUTE);
  });

  it("keeps the backoff when Retry-After asks for less", () => {
    const at = nextAttemptAt({ policy: defaults, attemptsMade: 4, now, random: 0, retryAfterMs: 5 * SECOND });
    expect(at.getTime() - now.getTime()).toBe(4 * MINUTE);
  });

  it("caps a Retry-After beyond the max delay at the max delay", () => {
    const policy = { ...defaults, maxDelayMs: HOUR };
    const at = nextAttemptAt({ policy, attemptsMade: 1, now, random: 0, retryAfterMs: 7 * 24 * HOUR });
    expect(at.getTime() - now.getTime()).toBe(HOUR);
  });

  it("never schedules before the Retry-After (within the max) for any policy and random value", () => {
    fc.assert(
      fc.property(policies, attempts, randoms, fc.integer({ min: 0, max: 30 * 24 * HOUR }), (policy, n, random, ra) => {
        const delay = nextAttemptAt({ policy, attemptsMade: n, now, random, retryAfterMs: ra }).getTime() - now.getTime();
        expect(delay).toBeGreaterThanOrEqual(Math.min(ra, policy.maxDelayMs));
        expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
      }),
    );
  });
});
