import type { EventSource, SourceReadiness } from "../ports/event-source.ts";
import type { Logger } from "../ports/logger.ts";
import type { RunInTransaction } from "../ports/transactor.ts";
import type { ClaimedDelivery } from "../ports/delivery-store.ts";
import { acceptEvents, type AcceptEventsDeps, type AcceptSummary } from "./accept-events.ts";
import { errorText } from "./error-text.ts";
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

export interface OutboxPoller extends EventSource {
  /** Processes one batch: claims outbox rows, creates their deliveries and marks them processed in one transaction. */
  pollOnce(): Promise<AcceptSummary & { readonly processed: number }>;
  /** Something was appended to the outbox in this process: look now. */
  wake(): void;
}

export function createOutboxPoller(options: OutboxPollerOptions): OutboxPoller {
  const { transaction, logger, batchSize, pollIntervalMs } = options;
  const wakeSignal = createWakeSignal();
  let readiness: SourceReadiness = { ready: true };

  async function pollOnce(): Promise<AcceptSummary & { readonly processed: number }> {
    const reserved = options.slots?.reserve(batchSize) ?? 0;
    let result;
    try {
      result = await transaction(async (tx) => {
        const rows = await tx.outbox.claimPendingEvents({ limit: batchSize });
        if (rows.length === 0) return { created: 0, duplicates: 0, skipped: 0, deadLettered: 0, leased: [], processed: 0 };
        const accepted = await acceptEvents(
          options,
          tx,
          rows.map((row) => ({
            value: { job_id: row.jobId, event: row.event, trace_id: row.traceId },
            origin: { source: "outbox", outboxId: row.id } as const,
          })),
          { count: reserved, leaseMs: options.leaseMs ?? 0 },
        );
        await tx.outbox.markProcessed({ ids: rows.map((row) => row.id), now: options.now() });
        return { ...accepted, processed: rows.length };
      });
    } catch (error) {
      options.slots?.adopt(reserved, []);
      throw error;
    }
    const { leased, ...summary } = result;
    options.slots?.adopt(reserved, leased);
    if (summary.created > leased.length) options.onDeliveriesCreated();
    return summary;
  }

  return {
    name: "outbox",
    pollOnce,
    wake: () => wakeSignal.wake(),
    readiness: () => readiness,
    async run(signal) {
      let errorBackoffMs = 100;
      while (!signal.aborted) {
        try {
          const summary = await pollOnce();
          readiness = { ready: true };
          errorBackoffMs = 100;
          if (summary.processed > 0) logger.debug("outbox batch processed", { ...summary });
          if (summary.processed === batchSize) continue;
          await wakeSignal.sleep(pollIntervalMs, signal);
        } catch (error) {
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
