import type { EventSource, IncomingEvent, SourceReadiness } from "../ports/event-source.ts";
import type { Logger } from "../ports/logger.ts";
import type { OutboxEntry } from "../ports/outbox.ts";
import { DataRefusedError, type RunInTransaction } from "../ports/transactor.ts";
import type { ClaimedDelivery } from "../ports/delivery-store.ts";
import { acceptEvents, refusedDeadLetter, type AcceptEventsDeps, type AcceptSummary } from "./accept-events.ts";
import { errorText } from "./error-text.ts";
import { refusalReason } from "./isolate-refusals.ts";
import { createWakeSignal } from "./wake-signal.ts";

export interface OutboxPollerOptions extends AcceptEventsDeps {
  readonly transaction: RunInTransaction;
  readonly logger: Logger;
  readonly batchSize: number;
  /** Longest sleep between looks at the outbox, ms; producers in other processes are found within it. */
  readonly pollIntervalMs: number;
  /** Called after a batch created deliveries that wait in the database (wakes the scheduler). */
  readonly onDeliveriesCreated: () => void;
  /** Free slots of the scheduler: deliveries that fit are created leased and start at once. */
  readonly slots?: {
    reserve(max: number): number;
    adopt(reserved: number, deliveries: readonly ClaimedDelivery[]): void;
  };
  /** Lease length for deliveries created leased, ms. */
  readonly leaseMs?: number;
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

const NOTHING: OutboxBatchSummary = { created: 0, duplicates: 0, skipped: 0, deadLettered: 0, processed: 0 };

export function createOutboxPoller(options: OutboxPollerOptions): OutboxPoller {
  const { transaction, logger, batchSize, pollIntervalMs } = options;
  const wakeSignal = createWakeSignal();
  let readiness: SourceReadiness = { ready: true };

  async function pollOnce(limit = batchSize): Promise<OutboxBatchSummary> {
    const reserved = options.slots?.reserve(limit) ?? 0;
    let claimed: readonly OutboxEntry[] = [];
    let result;
    try {
      result = await transaction(async (tx) => {
        const rows = await tx.outbox.claimPendingEvents({ limit });
        claimed = rows;
        if (rows.length === 0) return { ...NOTHING, leased: [] };
        const accepted = await acceptEvents(options, tx, rows.map(incomingOf), { count: reserved, leaseMs: options.leaseMs ?? 0 });
        await tx.outbox.markProcessed({ ids: rows.map((row) => row.id), now: options.now() });
        return { ...accepted, processed: rows.length };
      });
    } catch (error) {
      options.slots?.adopt(reserved, []);
      if (error instanceof DataRefusedError && claimed.length === 1) return deadLetterRefusedRow(claimed[0]!.id, error);
      throw error;
    }
    const { leased, ...summary } = result;
    options.slots?.adopt(reserved, leased);
    if (summary.created > leased.length) options.onDeliveriesCreated();
    return summary;
  }

  /** Dead-letters the one row the database refused and marks it processed, unless another process has taken it since. */
  async function deadLetterRefusedRow(id: string, error: DataRefusedError): Promise<OutboxBatchSummary> {
    const reason = refusalReason(error);
    return transaction(async (tx) => {
      const [row] = await tx.outbox.claimPendingEvents({ limit: 1, ids: [id] });
      if (row === undefined) return NOTHING;
      const letter = refusedDeadLetter(incomingOf(row), reason, options.now());
      await tx.deadLetters.recordDeadLetters([letter]);
      await tx.outbox.markProcessed({ ids: [row.id], now: options.now() });
      logger.error("outbox row dead-lettered: the database refused to store its delivery", { outbox_id: row.id, job_id: row.jobId, reason });
      return { ...NOTHING, deadLettered: 1, processed: 1 };
    });
  }

  return {
    name: "outbox",
    pollOnce,
    wake: () => wakeSignal.wake(),
    readiness: () => readiness,
    async run(signal) {
      let errorBackoffMs = 100;
      // Halved while the database refuses batches, until the row at fault is alone and
      // dead-lettered; rows are claimed oldest first, so each half is the head of the last.
      let limit = batchSize;
      while (!signal.aborted) {
        try {
          const summary = await pollOnce(limit);
          readiness = { ready: true };
          errorBackoffMs = 100;
          if (summary.processed > 0) logger.debug("outbox batch processed", { ...summary });
          if (limit === 1 || summary.processed < limit) limit = batchSize;
          if (summary.processed > 0) continue;
          await wakeSignal.sleep(pollIntervalMs, signal);
        } catch (error) {
          if (error instanceof DataRefusedError) {
            logger.warn("the database refused an outbox batch; taking fewer rows to find the row at fault", {
              rows: limit,
              error: refusalReason(error),
            });
            limit = Math.ceil(limit / 2);
            continue;
          }
          // The transaction rolled back: the rows stay in the outbox and are taken again.
          readiness = { ready: false, reason: `outbox: ${errorText(error)}` };
          logger.error("could not process the outbox; retrying", { error: errorText(error), retry_in_ms: errorBackoffMs });
          await wakeSignal.sleep(errorBackoffMs, signal);
          errorBackoffMs = Math.min(errorBackoffMs * 2, pollIntervalMs);
        }
      }
    },
  };
}

function incomingOf(row: OutboxEntry): IncomingEvent {
  return {
    value: { job_id: row.jobId, event: row.event, trace_id: row.traceId },
    origin: { source: "outbox", outboxId: row.id },
  };
}
