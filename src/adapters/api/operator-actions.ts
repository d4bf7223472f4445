import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Delivery } from "../../domain/delivery.ts";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { LogFields, Logger } from "../../ports/logger.ts";
import type { Metrics } from "../../ports/metrics.ts";
import { deliveryLogFields } from "../../shared/delivery-log-fields.ts";
import { deliveryJson } from "./delivery-json.ts";
import { readJsonBody } from "./openapi-route.ts";
import { problem } from "./problem.ts";

interface OperatorDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts a cancelled delivery as failed (`cancelled`). */
  readonly metrics?: Pick<Metrics, "deliveryEnded">;
}

/** The body of a retry: empty, `{}` or `{"resend": boolean}`, nothing else. */
export const RetryBody = z
  .strictObject({ resend: z.boolean().optional().openapi({ description: "Send a sent delivery again: the same bytes and `webhook-id`, a fresh timestamp and signature" }) })
  .openapi("RetryRequest");

const REFUSALS = {
  already_sent: "the delivery was sent; to send the same bytes again (same webhook-id, fresh signature), post {\"resend\": true}",
  in_flight: "an attempt holds the delivery's lease now; try again once it has ended",
  not_pending: "only a pending delivery can be cancelled",
} as const;

/**
 * `POST /v1/deliveries/:id/retry`, body `{}` or `{"resend": true}`: the delivery is due now; a
 * failed one (or a sent one, with resend) gets a fresh attempt budget. Recorded with its result.
 * `id` is a UUID (the route's schema checked it).
 */
export async function retryDelivery(c: Context, id: string, deps: OperatorDeps): Promise<Response> {
  const read = await readJsonBody(c, { empty: {} });
  const body = read.ok ? RetryBody.safeParse(read.value) : null;
  if (body === null || !body.success) return problem(c, 400, "invalid_body", 'the body must be empty, {} or {"resend": true}');
  const resend = body.data.resend === true;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const redriven = await tx.deliveries.redriveDelivery({ id, now, resend });
    if (redriven.outcome !== "not_found") {
      await tx.deliveries.recordOperatorAction({ deliveryId: id, action: resend ? "resend" : "retry", result: redriven.outcome, createdAt: now });
    }
    return redriven;
  });
  deps.logger.info("operator retry", { ...actionLogFields(id, result.delivery), resend, result: result.outcome });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  if (result.outcome !== "redriven") return problem(c, 409, result.outcome, REFUSALS[result.outcome]);
  return c.json({ result: result.outcome, delivery: deliveryJson(result.delivery!) });
}

/** `POST /v1/deliveries/:id/cancel`: a pending delivery fails as `cancelled`. Recorded with its result. */
export async function cancelDelivery(c: Context, id: string, deps: OperatorDeps): Promise<Response> {
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const cancelled = await tx.deliveries.cancelDelivery({ id, now });
    if (cancelled.outcome !== "not_found") {
      await tx.deliveries.recordOperatorAction({ deliveryId: id, action: "cancel", result: cancelled.outcome, createdAt: now });
    }
    return cancelled;
  });
  deps.logger.info("operator cancel", { ...actionLogFields(id, result.delivery), result: result.outcome });
  if (result.outcome === "cancelled") deps.metrics?.deliveryEnded({ outcome: "failed", reason: "cancelled" });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  if (result.outcome === "not_pending") return problem(c, 409, "not_pending", REFUSALS.not_pending);
  return c.json({ result: result.outcome, delivery: deliveryJson(result.delivery!) });
}

/** The delivery an action was on; only its id when the action was refused, since a refusal reads no row. */
function actionLogFields(id: string, delivery: Delivery | null): LogFields {
  return delivery === null ? { delivery_id: id.toLowerCase() } : deliveryLogFields(delivery, delivery.attempts);
}
