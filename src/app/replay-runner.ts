import type { Logger } from "../ports/logger.ts";
import type { ReplayBatch } from "../ports/replays.ts";
import type { RunInTransaction } from "../ports/transactor.ts";
import { errorText } from "../shared/error-text.ts";
import { createWakeSignal } from "./wake-signal.ts";

export interface ReplayRunnerOptions {
  readonly transaction: RunInTransaction;
  readonly now: () => Date;
  readonly logger: Logger;
  /** Re-driven deliveries are due now: claim them. */
  readonly wakeScheduler: () => void;
  /** Most deliveries one batch re-drives, each batch its own transaction. */
  readonly batchSize: number;
  /** A batch waits while this many deliveries or more are due: replayed rows queue behind them. */
  readonly maxDue: number;
  /** Longest sleep between looks for a running replay, ms: replays of other processes, or left by a restart, are found within it. */
  readonly pollIntervalMs: number;
  /** Sleep while a replay waits for the due deliveries to drain, ms. */
  readonly waitIntervalMs: number;
}

export interface ReplayRunner {
  /** Runs one turn: one batch of the oldest running replay, or a wait; null when none is running. */
  runOnce(): Promise<ReplayBatch | null>;
  /** A replay was created in this process: look now. */
  wake(): void;
  /** Turns until `signal` aborts; a failed turn is logged and tried again after the poll interval. */
  run(signal: AbortSignal): Promise<void>;
}

/** Drives the running replays in the background, one short transaction per batch. */
export function createReplayRunner(options: ReplayRunnerOptions): ReplayRunner {
  const wakeSignal = createWakeSignal();
  const runOnce = async (): Promise<ReplayBatch | null> => {
    const turn = await options.transaction((tx) =>
      tx.replays.advanceReplay({ now: options.now(), batchSize: options.batchSize, maxDue: options.maxDue }));
    if (turn !== null && turn.redriven > 0) options.wakeScheduler();
    if (turn?.done === true) options.logger.info("replay completed", { replay_id: turn.replay.id, redriven: turn.replay.redriven, skipped: turn.replay.skipped });
    return turn;
  };
  return {
    runOnce,
    wake: () => wakeSignal.wake(),
    async run(signal) {
      while (!signal.aborted) {
        let pauseMs = options.pollIntervalMs;
        try {
          const turn = await runOnce();
          if (turn !== null) pauseMs = turn.waited ? options.waitIntervalMs : 0;
        } catch (error) {
          options.logger.warn("replay batch failed; trying again", { error: errorText(error) });
        }
        if (pauseMs > 0) await wakeSignal.sleep(pauseMs, signal);
      }
    },
  };
}
