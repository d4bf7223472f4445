import { describe, expect, it } from "vitest";
import type { BackoffPolicy } from "../../src/domain/backoff.ts";
import { decideNextState, outcomeOf, stateAfter } from "../../src/domain/next-state.ts";
import type { Verdict } from "../../src/domain/error-classifier.ts";

const policy: BackoffPolicy = { maxAttempts: 10, baseDelayMs: 30_000, maxDelayMs: 86_400_000, jitter: 0 };
const now = new Date("2025-03-01T12:00:00.000Z");
const later = (ms: number) => new Date(now.getTime() + ms);
const decide = (attemptsMade: number, verdict: Verdict, overrides: Partial<BackoffPolicy> = {}) =>
  decideNextState({ attemptsMade, verdict, policy: { ...policy, ...overrides }, now, random: 0.5 });

describe("decideNextState", () => {
  it("marks the delivery sent on success", () => {
    expect(decide(1, { kind: "success" })).toEqual({ kind: "sent" });
  });

  it("marks a success on the last attempt sent, not failed", () => {
    expect(decide(10, { kind: "success" })).toEqual({ kind: "sent" });
  });

  it("fails at once on a permanent error, keeping its text", () => {
    expect(decide(1, { kind: "permanent", error: "HTTP 410" })).toEqual({ kind: "failed", error: "HTTP 410" });
  });

  it("schedules a retry after the backoff delay for a retryable error", () => {
    expect(decide(1, { kind: "retryable", error: "HTTP 500", retryAfter: null })).toEqual({
      kind: "retry",
      at: later(30_000),
      error: "HTTP 500",
    });
    expect(decide(3, { kind: "retryable", error: "timeout: 30s", retryAfter: null })).toEqual({
      kind: "retry",
      at: later(120_000),
      error: "timeout: 30s",
    });
  });

  it("gives up after the last attempt with the documented error", () => {
    expect(decide(10, { kind: "retryable", error: "HTTP 503", retryAfter: null })).toEqual({
      kind: "failed",
      error: "gave up after 10 attempts: HTTP 503",
    });
  });

  it("retries on the attempt before the last", () => {
    expect(decide(9, { kind: "retryable", error: "HTTP 503", retryAfter: null }).kind).toBe("retry");
  });

  it("gives up after the only attempt when maxAttempts is 1", () => {
    expect(decide(1, { kind: "retryable", error: "HTTP 502", retryAfter: null }, { maxAttempts: 1 })).toEqual({
      kind: "failed",
      error: "gave up after 1 attempts: HTTP 502",
    });
  });

  it("honours a 429's Retry-After in seconds when it is longer than the backoff", () => {
    expect(decide(1, { kind: "retryable", error: "HTTP 429", retryAfter: "600" })).toEqual({
      kind: "retry",
      at: later(600_000),
      error: "HTTP 429",
    });
  });

  it("honours a Retry-After HTTP-date", () => {
    const next = decide(1, { kind: "retryable", error: "HTTP 503", retryAfter: "Sat, 01 Mar 2025 13:00:00 GMT" });
    expect(next).toEqual({ kind: "retry", at: later(3_600_000), error: "HTTP 503" });
  });

  it("caps a Retry-After at the max delay", () => {
    const next = decide(1, { kind: "retryable", error: "HTTP 429", retryAfter: "999999" }, { maxDelayMs: 3_600_000 });
    expect(next).toEqual({ kind: "retry", at: later(3_600_000), error: "HTTP 429" });
  });

  it("ignores an unparseable Retry-After and uses the backoff", () => {
    expect(decide(2, { kind: "retryable", error: "HTTP 429", retryAfter: "whenever" })).toEqual({
      kind: "retry",
      at: later(60_000),
      error: "HTTP 429",
    });
  });

  it("does not retry past the last attempt even when Retry-After is given", () => {
    expect(decide(10, { kind: "retryable", error: "HTTP 429", retryAfter: "1" }).kind).toBe("failed");
  });
});

describe("outcomeOf", () => {
  it("maps each next state onto the attempt outcome of the same name", () => {
    expect(outcomeOf({ kind: "sent" })).toBe("sent");
    expect(outcomeOf({ kind: "retry", at: now, error: "HTTP 500" })).toBe("retry");
    expect(outcomeOf({ kind: "failed", error: "HTTP 404" })).toBe("failed");
  });
});

describe("stateAfter", () => {
  it("gives the stored status, next attempt time and last error for each next state", () => {
    const at = new Date(1_000);
    expect(stateAfter({ kind: "sent" })).toEqual({ status: "sent", nextAttemptAt: null, lastError: null });
    expect(stateAfter({ kind: "retry", at, error: "HTTP 500" })).toEqual({ status: "pending", nextAttemptAt: at, lastError: "HTTP 500" });
    expect(stateAfter({ kind: "failed", error: "HTTP 400" })).toEqual({ status: "failed", nextAttemptAt: null, lastError: "HTTP 400" });
  });
});
