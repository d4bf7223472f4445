import type { ListenForOutbox } from "../ports/database.ts";
import type { EventSource, IncomingEvent, SourceReadiness } from "../ports/event-source.ts";
import type { Logger } from "../ports/logger.ts";
import type { OutboxEntry, OutboxJobLimits } from "../ports/outbox.ts";
import { DataRefusedError, type RunInTransaction } from "../ports/transactor.ts";
import { errorText } from "../shared/error-text.ts";
import { abortableDelay, retryWithBackoff } from "../shared/retry-with-backoff.ts";
import { refusedDeadLetter, type AcceptSummary } from "./accept-events.ts";
import type { Intake } from "./intake.ts";
import { refusalReason } from "./isolate-refusals.ts";
import { createWakeSignal, type WakeSignal } from "./wake-signal.ts";

export interface OutboxPollerOptions {
  /** The intake sequence every input shares; one batch of rows is one intake transaction. */
  readonly intake: Intake;
  /** For dead-lettering a row the database refuses, in a transaction of its own. */
  readonly transaction: RunInTransaction;
  readonly now: () => Date;
  readonly logger: Logger;
  readonly batchSize: number;
  /**
   * Longest sleep between looks at the outbox, ms. Rows of producers in other processes are found
   * within it, or at once when `listen` is given and its connection is up.
   */
  readonly pollIntervalMs: number;
  /** Wakes the poller when rows are committed, so that it need not wait for the next look. */
  readonly listen?: ListenForOutbox;
  /** How much of the rows' carried jobs one batch reads; without it, all of them. */
  readonly jobLimits?: OutboxJobLimits;
}

export type OutboxBatchSummary = AcceptSummary & { readonly processed: number };

export interface OutboxPoller extends EventSource {
  /**
   * Processes one batch of at most `limit` rows (default: the batch size): claims outbox rows,
   * creates their deliveries and marks them processed in one transaction. A batch of one row
   * whose data the database refuses is dead-lettered and marked processed; a larger refused
   * batch throws the DataRefusedError, and a smaller batch finds the row at fault.
   */
  pollOnce(limit?: number): Promise<OutboxBatchSummary>;
  /** Something was appended to the outbox in this process: look now. */
  wake(): void;
}

/** After a database error, wait this long before polling again (ms), doubling up to the poll interval. */
const ERROR_BACKOFF_START_MS = 100;
/** After a failure to start listening, wait this long before trying again (ms), doubling up to the cap. */
const LISTEN_RETRY_START_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 30_000;
/**
 * After a batch that was not full, look again this long after (ms), or sooner when woken; after an
 * empty one, only after the poll interval. A batch that was not full emptied the outbox as its
 * transaction saw it, so looking again at once would mostly find nothing, at the cost of a
 * transaction. And of the transactions committing at one moment only one notifies (the outbox
 * trigger): a row committed just after the look that notification caused is found by this one.
 */
const FOLLOW_UP_LOOK_MS = 20;
/**
 * After a wait, let rows gather this long (ms) before looking: a look is one transaction however
 * many rows it takes, and while rows are committed one at a time each notification would
 * otherwise make a look of one or two rows.
 */
const GATHER_MS = 4;

const NOTHING: OutboxBatchSummary = { created: 0, duplicates: 0, skipped: 0, deadLettered: 0, rejected: 0, processed: 0 };

export function createOutboxPoller(options: OutboxPollerOptions): OutboxPoller {
  const poller: Poller = { options, wakeSignal: createWakeSignal(), readiness: { ready: true } };
  return {
    name: "outbox",
    pollOnce: (limit = options.batchSize) => pollOnce(poller, limit),
    wake: () => poller.wakeSignal.wake(),
    readiness: () => poller.readiness,
    run: (signal) => runPolls(poller, signal),
  };
}

/** What the poller's steps share. */
interface Poller {
  readonly options: OutboxPollerOptions;
  readonly wakeSignal: WakeSignal;
  readiness: SourceReadiness;
}

async function pollOnce({ options }: Poller, limit: number): Promise<OutboxBatchSummary> {
  let claimed: readonly OutboxEntry[] = [];
  let result;
  try {
    result = await options.intake({
      maxEvents: limit,
      // The claim marks the rows processed too: the transaction commits both or neither.
      take: async (tx) => {
        claimed = await tx.outbox.claimPendingEvents({ limit, jobLimits: options.jobLimits, processedAt: options.now() });
        return claimed.map((row) => incomingOf(row, options.jobLimits));
      },
    });
  } catch (error) {
    if (error instanceof DataRefusedError && claimed.length === 1) return deadLetterRefusedRow(options, claimed[0]!.id, error);
    throw error;
  }
  const { leased: _leased, taken, ...summary } = result;
  return { ...summary, processed: taken };
}

/** Dead-letters the one row the database refused and marks it processed, unless another process has taken it since. */
async function deadLetterRefusedRow(options: OutboxPollerOptions, id: string, error: DataRefusedError): Promise<OutboxBatchSummary> {
  const reason = refusalReason(error);
  return options.transaction(async (tx) => {
    const [row] = await tx.outbox.claimPendingEvents({ limit: 1, ids: [id] });
    if (row === undefined) return NOTHING;
    const letter = refusedDeadLetter(incomingOf(row, options.jobLimits), reason, options.now());
    await tx.deadLetters.recordDeadLetters([letter]);
    await tx.outbox.markProcessed({ ids: [row.id], now: options.now() });
    options.logger.error("outbox row dead-lettered: the database refused to store its delivery", { outbox_id: row.id, job_id: row.jobId, reason });
    return { ...NOTHING, deadLettered: 1, processed: 1 };
  });
}

/** Polls until `signal` aborts (see `pollUntilAborted`), woken by the database's notifications meanwhile. */
async function runPolls(poller: Poller, signal: AbortSignal): Promise<void> {
  const listening = listenUntilAborted(poller, signal);
  await pollUntilAborted(poller, signal);
  await listening;
}

/**
 * Listens for committed rows until `signal` aborts. Listening that cannot start (the database is
 * down) is tried again with a growing wait, while polling finds the rows meanwhile; once started,
 * the adapter keeps the connection up, and each reconnection wakes the poller.
 */
async function listenUntilAborted(poller: Poller, signal: AbortSignal): Promise<void> {
  const { listen, logger } = poller.options;
  if (listen === undefined) return;
  const wake = () => poller.wakeSignal.wake();
  const listening = await retryWithBackoff(() => listen(wake), {
    firstWaitMs: LISTEN_RETRY_START_MS,
    maxWaitMs: LISTEN_RETRY_MAX_MS,
    signal,
    onFailure: (error, waitMs) => {
      logger.warn("could not listen for outbox rows; polling meanwhile", { error: errorText(error), retry_in_ms: waitMs });
      return true;
    },
  }).catch(() => null);
  if (listening === null) return;
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  await listening.stop().catch((error: unknown) => logger.warn("could not stop listening for outbox rows", { error: errorText(error) }));
}

/**
 * Polls until `signal` aborts: at once after a full batch, shortly after one that was not full,
 * and after the poll interval when the outbox was empty; a wake-up ends any wait, and rows then
 * gather for a few ms before the look.
 */
async function pollUntilAborted(poller: Poller, signal: AbortSignal): Promise<void> {
  const { logger, batchSize, pollIntervalMs } = poller.options;
  // Halved while the database refuses batches, until the row at fault is alone and
  // dead-lettered; rows are claimed oldest first, so each half is the head of the last.
  let limit = batchSize;
  const retrying = {
    firstWaitMs: ERROR_BACKOFF_START_MS,
    maxWaitMs: pollIntervalMs,
    signal,
    wait: (ms: number, abort?: AbortSignal) => poller.wakeSignal.sleep(ms, abort),
    onFailure: (error: unknown, waitMs: number) => {
      if (error instanceof DataRefusedError) return false;
      // The transaction rolled back: the rows stay in the outbox and are taken again.
      poller.readiness = { ready: false, reason: `outbox: ${errorText(error)}` };
      logger.error("could not process the outbox; retrying", { error: errorText(error), retry_in_ms: waitMs });
      return true;
    },
  };
  while (!signal.aborted) {
    let summary: OutboxBatchSummary;
    try {
      summary = await retryWithBackoff(() => pollOnce(poller, limit), retrying);
    } catch (error) {
      if (!(error instanceof DataRefusedError)) break; // aborted while retrying
      logger.warn("the database refused an outbox batch; taking fewer rows to find the row at fault", { rows: limit, error: refusalReason(error) });
      limit = Math.ceil(limit / 2);
      continue;
    }
    poller.readiness = { ready: true };
    if (summary.processed > 0) logger.debug("outbox batch processed", { ...summary });
    const full = summary.processed >= limit;
    if (limit === 1 || !full) limit = batchSize;
    if (full) continue;
    await poller.wakeSignal.sleep(summary.processed === 0 ? pollIntervalMs : Math.min(FOLLOW_UP_LOOK_MS, pollIntervalMs), signal);
    await abortableDelay(GATHER_MS, signal);
  }
}

/** The event of an outbox row, its job included when it carries one; a job too large to read makes it a dead letter. */
function incomingOf(row: OutboxEntry, limits: OutboxJobLimits | undefined): IncomingEvent {
  const value = { job_id: row.jobId, event: row.event, trace_id: row.traceId };
  const origin = { source: "outbox", outboxId: row.id } as const;
  if (row.unreadJobBytes !== undefined) {
    return { value, origin, unreadable: `too_large: the job is ${row.unreadJobBytes} bytes as JSON (max ${limits?.maxJobBytes})` };
  }
  return { value: row.job == null ? value : { ...value, job: row.job }, origin };
}
