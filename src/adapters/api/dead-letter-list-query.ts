import { z } from "@hono/zod-openapi";
import type { DeadLetter, DeadLetterFilter } from "../../ports/dead-letters.ts";
import { creationWindow, isProblem, pageParameters, PageParameters, unknownOrRepeated, type PageRequest, type QueryProblem } from "./list-query.ts";

/** A page request of `GET /v1/dead-letters`, parsed. */
export interface DeadLetterListQuery extends PageRequest {
  readonly filter: DeadLetterFilter;
}

/** The cursor kind of dead-letter pages. */
export const DEAD_LETTER_CURSOR = "l1";
const SOURCES = ["outbox", "kafka", "api"] as const satisfies readonly DeadLetter["source"][];
const KNOWN = ["source", "reason", "reprocessed", "created_after", "created_before", "limit", "cursor"];
const REASON_CODE = /^[a-z_]{1,64}$/;

/** The query of `GET /v1/dead-letters` as `parseDeadLetterListQuery` accepts it, for the OpenAPI document. */
export const DeadLetterListParameters = z.object({
  source: z.enum(SOURCES).optional(),
  reason: z.string().regex(REASON_CODE).optional().openapi({ description: "A reason code: the part of `reason` before the first `:`", example: "unknown_job" }),
  reprocessed: z.enum(["true", "false"]).optional().openapi({ description: "Only letters reprocessed into a delivery (`true`), or only those not (`false`)" }),
  ...PageParameters,
});

/**
 * Parses the query of `GET /v1/dead-letters` (and of the bulk reprocess, which takes the same
 * filter); `reason` is a reason code such as `unknown_job`.
 */
export function parseDeadLetterListQuery(params: URLSearchParams): DeadLetterListQuery | QueryProblem {
  const misuse = unknownOrRepeated(params, KNOWN);
  if (misuse !== null) return misuse;
  const filter: { -readonly [K in keyof DeadLetterFilter]: DeadLetterFilter[K] } = {};
  const source = params.get("source");
  if (source !== null && !(SOURCES as readonly string[]).includes(source)) return { parameter: "source", message: `must be one of ${SOURCES.join(", ")}` };
  if (source !== null) filter.source = source as DeadLetter["source"];
  const reason = params.get("reason");
  if (reason !== null && !REASON_CODE.test(reason)) return { parameter: "reason", message: "must be a reason code such as unknown_job or invalid_json" };
  if (reason !== null) filter.reasonCode = reason;
  const reprocessed = params.get("reprocessed");
  if (reprocessed !== null && reprocessed !== "true" && reprocessed !== "false") return { parameter: "reprocessed", message: "must be true or false" };
  if (reprocessed !== null) filter.reprocessed = reprocessed === "true";
  const window = creationWindow(params);
  if (isProblem(window)) return window;
  const page = pageParameters(params, DEAD_LETTER_CURSOR, (id) => /^\d{1,18}$/.test(id));
  return isProblem(page) ? page : { ...page, filter: { ...filter, ...window } };
}
