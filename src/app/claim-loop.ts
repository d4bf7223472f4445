import type { Clock } from "../ports/clock.ts";
import type { Logger } from "../ports/logger.ts";
import { errorText } from "../shared/error-text.ts";
import { retryWithBackoff } from "../shared/retry-with-backoff.ts";
import type { SlotLedger } from "./slot-ledger.ts";
import type { WakeSignal } from "./wake-signal.ts";

/**
 * What the claim loop is doing:
 * - `claiming`: claims due deliveries for the free slots and starts them, again while claims come back full;
 * - `waiting-for-slots`: too few slots are free for a claim worth its round trip; a freed slot ends it;
 * - `waiting-after-overflow`: the last claim had to give back deliveries due again within a second
 *   (a full destination); claiming at once would claim them again, so it waits for a slot or that second;
 * - `sleeping`: nothing more is due; sleeps until the next delivery is due, a wake-up, or the poll interval.
 */
export type ClaimMode = "claiming" | "waiting-for-slots" | "waiting-after-overflow" | "sleeping";

export interface ClaimLoopOptions {
  readonly ledger: SlotLedger;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly concurrency: number;
  /** Longest sleep before looking again for work created by other processes, ms. */
  readonly pollIntervalMs: number;
  /** How long a claim that gave deliveries back keeps later claims smaller, ms. */
  readonly overflowMemoryMs: number;
  /** Claims up to `limit` due deliveries and starts them; `released` settles once what could not start was given back. */
  readonly claimAndStart: (limit: number) => Promise<{ claimed: number; comingBackSoon: number; released: Promise<void> }>;
  /** When the next pending delivery is due, or null. */
  readonly nextDueAt: () => Promise<Date | null>;
  /** Wakes a sleep (or a wait after a database error): new due work was created in this process. */
  readonly wakeSignal: WakeSignal;
  /** Wakes a wait for slots: an attempt ended. */
  readonly slotFreed: WakeSignal;
  readonly signal: AbortSignal;
}

interface NextStep {
  readonly mode: ClaimMode;
  /** For `sleeping`: how long, ms. */
  readonly sleepMs?: number;
}

/** After a database error, wait this long before claiming again (ms), doubling up to the poll interval. */
const ERROR_BACKOFF_START_MS = 100;

/** Claims and starts due deliveries until `signal` aborts; the modes are `ClaimMode`'s. */
export async function runClaimLoop(options: ClaimLoopOptions): Promise<void> {
  const { ledger, clock, logger, pollIntervalMs, signal } = options;
  const now = () => clock.now().getTime();
  // Claims of at least a quarter of the slots while busy: one claim per freed slot would cost a round trip per delivery.
  const minBatch = Math.max(1, Math.floor(options.concurrency / 4));
  const retrying = {
    firstWaitMs: ERROR_BACKOFF_START_MS,
    maxWaitMs: pollIntervalMs,
    signal,
    wait: (ms: number, abort?: AbortSignal) => options.wakeSignal.sleep(ms, abort),
    onFailure: (error: unknown, waitMs: number) =>
      logger.error("could not claim due deliveries; retrying", { error: errorText(error), retry_in_ms: waitMs }),
  };
  let step: NextStep = { mode: "claiming" };
  while (!signal.aborted) {
    switch (step.mode) {
      case "claiming":
        if (ledger.claimable(now()) < minBatch && (ledger.held() > 0 || ledger.overflowing(now()))) {
          step = { mode: "waiting-for-slots" };
          break;
        }
        step = await retryWithBackoff(() => claimOnce(options), retrying).catch((error: unknown): NextStep => {
          if (signal.aborted) return { mode: "claiming" };
          throw error;
        });
        break;
      case "waiting-for-slots": {
        // A freed slot ends the wait; so does the end of the overflow's memory.
        const untilOverflowEnds = ledger.overflowing(now()) ? ledger.overflowEndsAt() - now() : pollIntervalMs;
        await options.slotFreed.sleep(Math.max(1, Math.min(untilOverflowEnds, pollIntervalMs)), signal);
        step = { mode: "claiming" };
        break;
      }
      case "waiting-after-overflow":
        await options.slotFreed.sleep(options.overflowMemoryMs, signal);
        step = { mode: "claiming" };
        break;
      case "sleeping":
        await options.wakeSignal.sleep(step.sleepMs ?? pollIntervalMs, signal);
        step = { mode: "claiming" };
        break;
    }
  }
}

/** One claim for the claimable slots; says what to do next. */
async function claimOnce(options: ClaimLoopOptions): Promise<NextStep> {
  const { ledger, clock, pollIntervalMs } = options;
  const free = ledger.claimable(clock.now().getTime());
  const { claimed, comingBackSoon, released } = await options.claimAndStart(free);
  // One give-back in flight at a time: the next claim may be another slow destination's rows.
  await released;
  if (claimed < free) {
    const nextDue = await options.nextDueAt();
    const untilDue = nextDue === null ? pollIntervalMs : nextDue.getTime() - clock.now().getTime();
    return { mode: "sleeping", sleepMs: Math.min(Math.max(untilDue, 0), pollIntervalMs) };
  }
  return { mode: comingBackSoon > 0 ? "waiting-after-overflow" : "claiming" };
}
