import type { Context } from "hono";
import { isUuid } from "../../domain/uuid.ts";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { Logger } from "../../ports/logger.ts";
import { deliveryJson } from "./delivery-json.ts";
import { problem } from "./problem.ts";

interface OperatorDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
}

const REFUSALS = {
  already_sent: "the delivery was sent; to send the same bytes again (same webhook-id, fresh signature), post {\"resend\": true}",
  in_flight: "an attempt holds the delivery's lease now; try again once it has ended",
  not_pending: "only a pending delivery can be cancelled",
} as const;

/**
 * `POST /v1/deliveries/:id/retry`, body `{}` or `{"resend": true}`: the delivery is due now; a
 * failed one (or a sent one, with resend) gets a fresh attempt budget. Recorded with its result.
 */
export async function retryDelivery(c: Context, deps: OperatorDeps): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  const body = await optionalJsonObject(c);
  if (body === null || (body.resend !== undefined && typeof body.resend !== "boolean") || Object.keys(body).some((key) => key !== "resend")) {
    return problem(c, 400, "invalid_body", 'the body must be empty, {} or {"resend": true}');
  }
  const resend = body.resend === true;
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const redriven = await tx.deliveries.redriveDelivery({ id, now, resend });
    if (redriven.outcome !== "not_found") {
      await tx.deliveries.recordOperatorAction({ deliveryId: id, action: resend ? "resend" : "retry", result: redriven.outcome, createdAt: now });
    }
    return redriven;
  });
  deps.logger.info("operator retry", { delivery_id: id.toLowerCase(), resend, result: result.outcome });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  if (result.outcome !== "redriven") return problem(c, 409, result.outcome, REFUSALS[result.outcome]);
  return c.json({ result: result.outcome, delivery: deliveryJson(result.delivery!) });
}

/** `POST /v1/deliveries/:id/cancel`: a pending delivery fails as `cancelled`. Recorded with its result. */
export async function cancelDelivery(c: Context, deps: OperatorDeps): Promise<Response> {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  const now = deps.clock.now();
  const result = await deps.db.transaction(async (tx) => {
    const cancelled = await tx.deliveries.cancelDelivery({ id, now });
    if (cancelled.outcome !== "not_found") {
      await tx.deliveries.recordOperatorAction({ deliveryId: id, action: "cancel", result: cancelled.outcome, createdAt: now });
    }
    return cancelled;
  });
  deps.logger.info("operator cancel", { delivery_id: id.toLowerCase(), result: result.outcome });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
  if (result.outcome === "not_pending") return problem(c, 409, "not_pending", REFUSALS.not_pending);
  return c.json({ result: result.outcome, delivery: deliveryJson(result.delivery!) });
}

/** The request body as a JSON object; `{}` when empty; null when it is not a JSON object. */
async function optionalJsonObject(c: Context): Promise<Record<string, unknown> | null> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
