import { parseWebhookEvent } from "../domain/event.ts";
import type { DeadLetter, ReprocessOutcome, StoredDeadLetter } from "../ports/dead-letters.ts";
import type { EventOrigin, IncomingEvent } from "../ports/event-source.ts";
import type { Repositories, RunInTransaction } from "../ports/transactor.ts";
import { acceptEvents, type AcceptEventsDeps } from "./accept-events.ts";

export interface ReprocessDeps {
  readonly transaction: RunInTransaction;
  readonly accept: AcceptEventsDeps;
  /** A delivery was created: claim it now. */
  readonly wakeScheduler: () => void;
}

/**
 * Reprocesses one dead letter, in one transaction: its event goes through intake again, with
 * the job read again. If it can be delivered now, the delivery is created (or found, when the
 * same job and event arrived since) and the letter is marked reprocessed; otherwise nothing is
 * written and the outcome says why — the letter stays as it was, never dead-lettered twice.
 */
export async function reprocessDeadLetter(deps: ReprocessDeps, id: string): Promise<ReprocessOutcome> {
  const outcome = await deps.transaction(async (tx): Promise<ReprocessOutcome> => {
    const letter = await tx.deadLetters.lockDeadLetter(id);
    if (letter === null) return { outcome: "not_found" };
    if (letter.reprocessedAt !== null) return { outcome: "already_reprocessed", deliveryId: letter.deliveryId };
    const incoming = incomingOf(letter);
    const parsed = incoming === null ? null : parseWebhookEvent(incoming.value);
    if (incoming === null || parsed === null) return refused("not_reprocessable: the dead letter holds no event");
    if (!parsed.ok) return refused(`not_reprocessable: ${parsed.reason}`);
    const refusals: DeadLetter[] = [];
    const result = await acceptEvents(deps.accept, capturingDeadLetters(tx, refusals), [incoming]);
    if (refusals.length > 0) return refused(refusals[0]!.reason);
    if (result.skipped > 0) return refused("no_webhook_url: the job has no webhook URL");
    const [delivery] = await tx.deliveries.listDeliveries({ filter: { jobId: parsed.event.jobId, event: parsed.event.event }, limit: 1 });
    if (delivery === undefined) return refused("not_reprocessable: no delivery was created");
    await tx.deadLetters.markReprocessed({ id: letter.id, deliveryId: delivery.id, now: deps.accept.now() });
    return { outcome: "reprocessed", deliveryId: delivery.id, existed: result.created === 0 };
  });
  if (outcome.outcome === "reprocessed" && !outcome.existed) deps.wakeScheduler();
  return outcome;
}

const refused = (reason: string): ReprocessOutcome => ({ outcome: "refused", reason });

/** The letter's event as an input would give it: the raw message when there is one, else its fields. */
function incomingOf(letter: StoredDeadLetter): IncomingEvent | null {
  const origin: EventOrigin =
    letter.source === "kafka" && letter.topic !== null && letter.partition !== null && letter.offset !== null
      ? { source: "kafka", topic: letter.topic, partition: letter.partition, offset: letter.offset, key: letter.key }
      : { source: "api" };
  if (letter.raw !== null && letter.lastOffset === null) return { value: letter.raw, origin };
  if (letter.jobId === null || letter.event === null) return null;
  return { value: { job_id: letter.jobId, event: letter.event, trace_id: letter.traceId }, origin };
}

/** `tx` with dead letters collected instead of written: a refusal leaves the table as it was. */
function capturingDeadLetters(tx: Repositories, into: DeadLetter[]): Repositories {
  return { ...tx, deadLetters: { ...tx.deadLetters, recordDeadLetters: async (rows) => void into.push(...rows) } };
}
