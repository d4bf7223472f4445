import { z } from "@hono/zod-openapi";
import type { DeliveryStatus } from "../../domain/delivery.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { DeliveryFilter } from "../../ports/delivery-store.ts";
import { creationWindow, isProblem, pageParameters, PageParameters, unknownOrRepeated, type PageRequest, type QueryProblem } from "./list-query.ts";

/** A page request of `GET /v1/deliveries`, parsed. */
export interface DeliveryListQuery extends PageRequest {
  readonly filter: DeliveryFilter;
}

/** The cursor kind of delivery pages. */
export const DELIVERY_CURSOR = "d1";
const STATUSES = ["pending", "sent", "failed"] as const satisfies readonly DeliveryStatus[];
const KNOWN = ["status", "job_id", "event", "origin", "created_after", "created_before", "limit", "cursor"];
/** `scheme://host[:port]`: no path, query, fragment or credentials. */
export const ORIGIN = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@\s]+$/;

/** The query of `GET /v1/deliveries` as `parseDeliveryListQuery` accepts it, for the OpenAPI document. */
export const DeliveryListParameters = z.object({
  status: z.enum(STATUSES).optional(),
  job_id: z.string().optional().openapi({ format: "uuid" }),
  event: z.string().min(1).max(200).optional().openapi({ example: "job.succeeded" }),
  origin: z.string().regex(ORIGIN).optional().openapi({ description: "`scheme://host[:port]` of the receiver URL, as written (any case)", example: "https://hooks.customer.example" }),
  ...PageParameters,
});

/** Parses the query of `GET /v1/deliveries`. */
export function parseDeliveryListQuery(params: URLSearchParams): DeliveryListQuery | QueryProblem {
  const misuse = unknownOrRepeated(params, KNOWN);
  if (misuse !== null) return misuse;
  const filter: { -readonly [K in keyof DeliveryFilter]: DeliveryFilter[K] } = {};
  const status = params.get("status");
  if (status !== null && !(STATUSES as readonly string[]).includes(status)) return { parameter: "status", message: `must be one of ${STATUSES.join(", ")}` };
  if (status !== null) filter.status = status as DeliveryStatus;
  const jobId = params.get("job_id");
  if (jobId !== null && !isUuid(jobId)) return { parameter: "job_id", message: "must be a UUID" };
  if (jobId !== null) filter.jobId = jobId.toLowerCase();
  const event = params.get("event");
  if (event !== null && (event === "" || event.length > 200)) return { parameter: "event", message: "must be 1 to 200 characters" };
  if (event !== null) filter.event = event;
  const origin = params.get("origin");
  if (origin !== null && !ORIGIN.test(origin)) return { parameter: "origin", message: "must be scheme://host or scheme://host:port, without a path" };
  if (origin !== null) filter.origin = origin.toLowerCase();
  const window = creationWindow(params);
  if (isProblem(window)) return window;
  const page = pageParameters(params, DELIVERY_CURSOR, isUuid);
  return isProblem(page) ? page : { ...page, filter: { ...filter, ...window } };
}
