import type { IncomingEvent } from "../ports/event-source.ts";
import type { Logger } from "../ports/logger.ts";
import { DataRefusedError, type RunInTransaction } from "../ports/transactor.ts";
import { refusedDeadLetter, type AcceptResult } from "./accept-events.ts";

export interface IsolateRefusalsDeps {
  readonly transaction: RunInTransaction;
  readonly now: () => Date;
  readonly logger: Logger;
}

/** The dead-letter reason of an event the database refused: the prefix, then the SQLSTATE and message. */
export function refusalReason(error: DataRefusedError): string {
  return `refused_by_database: ${error.code} ${error.message}`;
}

/**
 * Accepts `events` with `accept` (one transaction per call). When the database refuses the
 * batch's data — not an outage — the batch is halved until the refused events are found: each
 * is dead-lettered with the reason, and every other event is accepted. A batch of n events with
 * one refused event costs about 2·log2(n) extra transactions. Other errors propagate unchanged.
 */
export async function acceptIsolatingRefusals(
  deps: IsolateRefusalsDeps,
  events: readonly IncomingEvent[],
  accept: (events: readonly IncomingEvent[]) => Promise<AcceptResult>,
): Promise<AcceptResult> {
  try {
    return await accept(events);
  } catch (error) {
    if (!(error instanceof DataRefusedError) || events.length === 0) throw error;
    if (events.length === 1) {
      await recordRefusedEvent(deps, events[0]!, error);
      return { created: 0, duplicates: 0, skipped: 0, deadLettered: 1, rejected: 0, leased: [] };
    }
    deps.logger.warn("the database refused a batch of events; splitting it to find the events at fault", {
      events: events.length,
      error: refusalReason(error),
    });
    const half = Math.ceil(events.length / 2);
    const first = await acceptIsolatingRefusals(deps, events.slice(0, half), accept);
    const second = await acceptIsolatingRefusals(deps, events.slice(half), accept);
    return {
      created: first.created + second.created,
      duplicates: first.duplicates + second.duplicates,
      skipped: first.skipped + second.skipped,
      deadLettered: first.deadLettered + second.deadLettered,
      rejected: first.rejected + second.rejected,
      leased: [...first.leased, ...second.leased],
    };
  }
}

/** Dead-letters one refused event, in a transaction of its own. */
async function recordRefusedEvent(deps: IsolateRefusalsDeps, incoming: IncomingEvent, error: DataRefusedError): Promise<void> {
  const reason = refusalReason(error);
  const letter = refusedDeadLetter(incoming, reason, deps.now());
  const { source, topic, partition, offset, jobId } = letter;
  deps.logger.error("event dead-lettered: the database refused to store it", { source, topic, partition, offset, job_id: jobId, reason });
  await deps.transaction((tx) => tx.deadLetters.recordDeadLetters([letter]));
}
