import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { isUuid } from "../../domain/uuid.ts";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { Metrics } from "../../ports/metrics.ts";
import type { Logger } from "../../ports/logger.ts";
import { ActionView, AttemptView, actionJson, attemptJson, DeliveryView, deliveryJson } from "./delivery-json.ts";
import { DELIVERY_CURSOR, DeliveryListParameters, parseDeliveryListQuery } from "./delivery-list-query.ts";
import { isProblem, pageOf, pageOfSchema } from "./list-query.ts";
import { addRoute, BEARER, jsonResponse, problemResponse, v1Responses } from "./openapi-route.ts";
import { cancelDelivery, RetryBody, retryDelivery } from "./operator-actions.ts";
import { problem } from "./problem.ts";

interface DeliveryRouteDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics?: Pick<Metrics, "deliveryEnded">;
}

const Uuid = z.string().refine(isUuid, "must be a UUID").openapi({ format: "uuid" });
const DeliveryIdParams = z.object({ id: Uuid.openapi({ param: { name: "id", in: "path" }, description: "A delivery id" }) });
/** A delivery id that is not a UUID names no delivery: 404, as for an unknown one. */
const notFoundUnlessUuid = (result: { success: boolean }, c: Context) =>
  result.success ? undefined : problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(c.req.param("id"))}`);
const notFound = problemResponse("`not_found`: no delivery with this id (also for an id that is not a UUID)");
const Redriven = (result: string) => z.object({ result: z.literal(result), delivery: DeliveryView });

const listDeliveries = createRoute({
  method: "get",
  path: "/deliveries",
  tags: ["deliveries"],
  summary: "List deliveries, newest first",
  description: "Filters narrow the list; pages are keyed on the time-ordered id, so rows inserted meanwhile never shift them. An unknown, repeated or malformed parameter is a 400 naming it.",
  security: [{ [BEARER]: [] }],
  request: { query: DeliveryListParameters },
  responses: v1Responses({
    200: jsonResponse("One page of deliveries", pageOfSchema("DeliveryPage", DeliveryView)),
    400: problemResponse("`invalid_parameter`: the message starts with the parameter's name"),
  }),
});

const showDelivery = createRoute({
  method: "get",
  path: "/deliveries/{id}",
  tags: ["deliveries"],
  summary: "One delivery with its attempts and the operator actions on it",
  security: [{ [BEARER]: [] }],
  request: { params: DeliveryIdParams },
  responses: v1Responses({
    200: jsonResponse("The delivery", z.object({ delivery: DeliveryView, attempts: z.array(AttemptView), actions: z.array(ActionView) })),
    404: notFound,
  }),
});

const retry = createRoute({
  method: "post",
  path: "/deliveries/{id}/retry",
  tags: ["deliveries"],
  summary: "Re-drive a delivery: due now, with a fresh attempt budget",
  description: "A failed delivery becomes pending, due now, with a fresh attempt budget; a pending one becomes due now. A sent one is sent again (same `webhook-id`) only with `{\"resend\": true}`. Every call is recorded with its result.",
  security: [{ [BEARER]: [] }],
  request: {
    params: DeliveryIdParams,
    body: { required: false, description: "Empty, `{}` or `{\"resend\": true}`, whatever the content type", content: { "application/json": { schema: RetryBody } } },
  },
  responses: v1Responses({
    200: jsonResponse("Re-driven", Redriven("redriven")),
    400: problemResponse("`invalid_body`: the body is not empty, `{}` or `{\"resend\": boolean}`"),
    404: notFound,
    409: problemResponse("`already_sent` (post `{\"resend\": true}` to send it again) or `in_flight` (an attempt holds the lease now)"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

const cancel = createRoute({
  method: "post",
  path: "/deliveries/{id}/cancel",
  tags: ["deliveries"],
  summary: "Cancel a pending delivery: it fails as `cancelled`",
  security: [{ [BEARER]: [] }],
  request: { params: DeliveryIdParams },
  responses: v1Responses({
    200: jsonResponse("Cancelled", Redriven("cancelled")),
    404: notFound,
    409: problemResponse("`not_pending`: only a pending delivery can be cancelled"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

const jobDeliveries = createRoute({
  method: "get",
  path: "/jobs/{job_id}/deliveries",
  tags: ["deliveries"],
  summary: "Every delivery of a job",
  security: [{ [BEARER]: [] }],
  request: { params: z.object({ job_id: Uuid.openapi({ param: { name: "job_id", in: "path" } }) }) },
  responses: v1Responses({
    200: jsonResponse("The job's deliveries, oldest first (empty for an unknown job)", z.object({ job_id: z.string().openapi({ format: "uuid" }), deliveries: z.array(DeliveryView) })),
    400: problemResponse("`invalid_job_id`: job_id is not a UUID"),
  }),
});

/** The delivery routes of `/v1`: list, show, retry, cancel, and a job's deliveries. */
export function addDeliveryRoutes(v1: OpenAPIHono, deps: DeliveryRouteDeps): void {
  const { db } = deps;
  addRoute(v1, listDeliveries, async (c) => {
    const query = parseDeliveryListQuery(new URL(c.req.url).searchParams);
    if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
    const rows = await db.deliveries.listDeliveries({ filter: query.filter, limit: query.limit + 1, beforeId: query.beforeId });
    const { page, nextCursor } = pageOf(rows, query.limit, DELIVERY_CURSOR);
    return c.json({ data: page.map(deliveryJson), next_cursor: nextCursor });
  }, { queryParsedByHandler: true });

  addRoute(v1, showDelivery, async (c) => {
    const { id } = c.req.valid("param");
    const found = await db.deliveries.getDelivery(id.toLowerCase());
    if (found === null) return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
    return c.json({ delivery: deliveryJson(found.delivery), attempts: found.attempts.map(attemptJson), actions: found.actions.map(actionJson) });
  }, { hook: notFoundUnlessUuid });

  addRoute(v1, retry, (c) => retryDelivery(c, c.req.valid("param").id, deps), { hook: notFoundUnlessUuid });
  addRoute(v1, cancel, (c) => cancelDelivery(c, c.req.valid("param").id, deps), { hook: notFoundUnlessUuid });

  addRoute(v1, jobDeliveries, async (c) => {
    const jobId = c.req.valid("param").job_id.toLowerCase();
    const deliveries = await db.deliveries.listDeliveriesForJob(jobId);
    return c.json({ job_id: jobId, deliveries: deliveries.map(deliveryJson) });
  }, { hook: (result, c) => (result.success ? undefined : problem(c, 400, "invalid_job_id", "job_id must be a UUID")) });
}
