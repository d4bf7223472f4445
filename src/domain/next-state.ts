import { nextAttemptAt, parseRetryAfterMs, type BackoffPolicy } from "./backoff.ts";
import type { AttemptOutcome, Delivery, NextState } from "./delivery.ts";
import type { Verdict } from "./error-classifier.ts";

/**
 * Where a delivery goes after an attempt. `attemptsMade` counts this attempt;
 * `policy.maxAttempts` is the total, so the attempt with number maxAttempts is the last.
 */
export function decideNextState(params: {
  attemptsMade: number;
  verdict: Verdict;
  policy: BackoffPolicy;
  now: Date;
  random: number;
}): NextState {
  const { attemptsMade, verdict, policy, now, random } = params;
  switch (verdict.kind) {
    case "success":
      return { kind: "sent" };
    case "permanent":
      return { kind: "failed", error: verdict.error };
    case "retryable": {
      if (attemptsMade >= policy.maxAttempts) {
        return { kind: "failed", error: `gave up after ${attemptsMade} attempts: ${verdict.error}` };
      }
      const retryAfterMs = verdict.retryAfter === null ? null : parseRetryAfterMs(verdict.retryAfter, now);
      const at = nextAttemptAt({ policy, attemptsMade, now, random, retryAfterMs });
      return { kind: "retry", at, error: verdict.error };
    }
  }
}

/** The attempt row's outcome for a next state; the names coincide by design. */
export function outcomeOf(next: NextState): AttemptOutcome {
  return next.kind;
}

/** The delivery's stored state once it moves to `next` (the columns completion writes). */
export function stateAfter(next: NextState): Pick<Delivery, "status" | "nextAttemptAt" | "lastError"> {
  switch (next.kind) {
    case "sent":
      return { status: "sent", nextAttemptAt: null, lastError: null };
    case "retry":
      return { status: "pending", nextAttemptAt: next.at, lastError: next.error };
    case "failed":
      return { status: "failed", nextAttemptAt: null, lastError: next.error };
  }
}
