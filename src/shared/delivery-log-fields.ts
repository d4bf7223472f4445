import type { Delivery } from "../domain/delivery.ts";

/** What names a delivery: a stored one, or a row about to be created. */
type NamedDelivery = Pick<Delivery, "id" | "webhookId" | "jobId" | "event" | "traceId">;

/**
 * The fields every log line about a delivery carries, so that a search for any one of its ids
 * (the job's, the delivery's, the event's trace) finds all of its lines. `attempt` is the number
 * of the attempt the line is about, from 1; on a line about no one attempt (an operator's action,
 * a delivery that failed before any), how many have been made.
 */
export function deliveryLogFields(delivery: NamedDelivery, attempt: number) {
  return {
    job_id: delivery.jobId,
    delivery_id: delivery.id,
    webhook_id: delivery.webhookId,
    event: delivery.event,
    trace_id: delivery.traceId,
    attempt,
  };
}
