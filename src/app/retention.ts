import type { Logger } from "../ports/logger.ts";
import { type Metrics, noopMetrics, type PrunedTable } from "../ports/metrics.ts";
import type { RetentionStore } from "../ports/retention.ts";
import type { RunInTransaction } from "../ports/transactor.ts";
import { errorText } from "../shared/error-text.ts";
import { abortableDelay } from "../shared/retry-with-backoff.ts";

export interface RetentionOptions {
  readonly transaction: RunInTransaction;
  readonly now: () => Date;
  readonly logger: Logger;
  /** How long finished deliveries (with attempts and actions) and dead letters are kept, ms; 0 keeps them. */
  readonly retentionMs: number;
  /** How long processed outbox rows are kept, ms; 0 keeps them. */
  readonly outboxRetentionMs: number;
  /** Most rows one batch deletes, each batch its own transaction. */
  readonly batchSize: number;
  /** Pause between two batches while there is more to delete, ms: the pace that keeps pruning light. */
  readonly pauseMs: number;
  /** Sleep once nothing is left to delete, ms. */
  readonly intervalMs: number;
  /** Counts the rows deleted. */
  readonly metrics?: Metrics;
}

/** Rows deleted by one round, per kind. */
export interface PruneCounts {
  readonly deliveries: number;
  readonly outbox: number;
  readonly deadLetters: number;
}

export interface Retention {
  /** One batch of each kind that has a retention period. */
  pruneOnce(): Promise<PruneCounts>;
  /** Rounds until `signal` aborts; a failed round is logged and tried again after the interval. */
  run(signal: AbortSignal): Promise<void>;
}

type Kind = keyof PruneCounts;
const PRUNE_METHOD = { deliveries: "pruneDeliveries", outbox: "pruneOutbox", deadLetters: "pruneDeadLetters" } as const satisfies Record<Kind, keyof RetentionStore>;
const TABLE_LABEL = { deliveries: "deliveries", outbox: "outbox", deadLetters: "dead_letters" } as const satisfies Record<Kind, PrunedTable>;

/** Deletes old rows in the background, one short transaction per batch of each kind. */
export function createRetention(options: RetentionOptions): Retention {
  const periodOf = (kind: Kind) => (kind === "outbox" ? options.outboxRetentionMs : options.retentionMs);
  const pruneKind = async (kind: Kind): Promise<number> => {
    const period = periodOf(kind);
    if (period <= 0) return 0;
    const before = new Date(options.now().getTime() - period);
    const pruned = await options.transaction((tx) => tx.retention[PRUNE_METHOD[kind]]({ before, limit: options.batchSize }));
    if (pruned > 0) (options.metrics ?? noopMetrics).rowsPruned(TABLE_LABEL[kind], pruned);
    return pruned;
  };
  const pruneOnce = async (): Promise<PruneCounts> => {
    const startedAt = options.now().getTime();
    const counts = { deliveries: await pruneKind("deliveries"), outbox: await pruneKind("outbox"), deadLetters: await pruneKind("deadLetters") };
    // How long the round's three statements took: what a slow prune costs the database shows here.
    const durationMs = options.now().getTime() - startedAt;
    if (counts.deliveries + counts.outbox + counts.deadLetters > 0) options.logger.info("old rows pruned", { ...counts, duration_ms: durationMs });
    return counts;
  };
  return {
    pruneOnce,
    async run(signal) {
      while (!signal.aborted) {
        let pauseMs = options.intervalMs;
        try {
          const counts = await pruneOnce();
          if (Object.values(counts).some((n) => n >= options.batchSize)) pauseMs = options.pauseMs;
        } catch (error) {
          options.logger.warn("pruning old rows failed; trying again", { error: errorText(error) });
        }
        await abortableDelay(pauseMs, signal);
      }
    },
  };
}
