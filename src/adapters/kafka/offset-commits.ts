import type { EachBatchPayload } from "kafkajs";
import { errorText } from "../../shared/error-text.ts";
import type { Logger } from "../../ports/logger.ts";

/**
 * When the offsets a consumer has resolved (only ever after their events are durable) are
 * committed: together, at most once every `intervalMs`, instead of one OffsetCommit per accepted
 * part. A commit is due `intervalMs` after the first offset resolved since the last one, whether
 * or not more batches come; once the input stops, every resolved offset is committed at once.
 * One per consumer: kafkajs keeps the resolved offsets of the current assignment, and forgets
 * them when the group rebalances: they are committed when the rebalance begins, if the group
 * still takes them, else the new owner fetches their events again.
 */
export interface OffsetCommits {
  /** The offsets of `payload`'s partition up to the one just resolved are durable: commit them in time. */
  resolved(payload: EachBatchPayload): Promise<void>;
  /** Commits what is resolved now (a rebalance is beginning). */
  commitNow(): Promise<void>;
  /** The input is stopping: commit what is resolved now, and from now on each part as it is resolved. */
  flush(): Promise<void>;
}

export function createOffsetCommits(options: { intervalMs: number; logger: Logger }): OffsetCommits {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopping = false;
  // kafkajs's payload functions act on the consumer's group, not on one batch: any of them commits every partition's offsets.
  let latest: EachBatchPayload | null = null;

  const commitResolved = async (payload: EachBatchPayload): Promise<void> => {
    const { topics } = payload.uncommittedOffsets();
    if (topics.length > 0) await payload.commitOffsetsIfNecessary({ topics });
  };

  const commitLater = (payload: EachBatchPayload): void => {
    timer = setTimeout(() => {
      timer = null;
      commitResolved(payload).catch((error: unknown) => {
        options.logger.warn("could not commit Kafka offsets; trying again", { error: errorText(error), retry_in_ms: options.intervalMs });
        if (!stopping && payload.isRunning() && timer === null) commitLater(payload);
      });
    }, options.intervalMs);
  };

  const commitNow = async (): Promise<void> => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (latest !== null) await commitResolved(latest);
  };

  return {
    commitNow,
    async resolved(payload) {
      latest = payload;
      if (stopping || !payload.isRunning()) return commitResolved(payload);
      if (timer === null) commitLater(payload);
    },
    async flush() {
      stopping = true;
      await commitNow();
    },
  };
}
