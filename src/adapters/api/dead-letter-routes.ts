import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Database } from "../../ports/database.ts";
import { Reprocessed, ReprocessedPage, reprocessMany, reprocessOne, type ReprocessDeps } from "./dead-letter-reprocess.ts";
import { DeadLetterView, deadLetterJson } from "./delivery-json.ts";
import { DEAD_LETTER_CURSOR, DeadLetterListParameters, parseDeadLetterListQuery } from "./dead-letter-list-query.ts";
import { isProblem, pageOf, pageOfSchema } from "./list-query.ts";
import { addRoute, BEARER, jsonResponse, problemResponse, v1Responses } from "./openapi-route.ts";
import { problem } from "./problem.ts";

const listDeadLetters = createRoute({
  method: "get",
  path: "/dead-letters",
  tags: ["dead letters"],
  summary: "List events that could not become deliveries, newest first",
  description: "Kafka message bytes and keys come in base64. An unknown, repeated or malformed parameter is a 400 naming it.",
  security: [{ [BEARER]: [] }],
  request: { query: DeadLetterListParameters },
  responses: v1Responses({
    200: { description: "One page of dead letters", content: { "application/json": { schema: pageOfSchema("DeadLetterPage", DeadLetterView) } } },
    400: problemResponse("`invalid_parameter`: the message starts with the parameter's name"),
  }),
});


const reprocessOneRoute = createRoute({
  method: "post",
  path: "/dead-letters/{id}/reprocess",
  tags: ["dead letters"],
  summary: "Make a dead letter the delivery it should have been, if its job allows it now",
  description: "Reads the letter's job again (the Kafka message as it came, or the event's fields). If the event can become a delivery now, it does and the letter is marked reprocessed; otherwise nothing is written.",
  security: [{ [BEARER]: [] }],
  request: { params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, description: "A dead letter id (a whole number)" }) }) },
  responses: v1Responses({
    200: jsonResponse("Reprocessed", Reprocessed),
    404: problemResponse("`not_found`: no dead letter with this id"),
    409: problemResponse("Why it cannot become a delivery now, its code as `error`: `unknown_job`, `job_not_finished`, `no_webhook_url`, `not_reprocessable`, `already_reprocessed`"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

const reprocessManyRoute = createRoute({
  method: "post",
  path: "/dead-letters/reprocess",
  tags: ["dead letters"],
  summary: "Reprocess one page of the dead letters matching a filter",
  description: "The filter of `GET /v1/dead-letters`; only letters not reprocessed yet, newest first, each in its own transaction. Letters refused again stay behind `next_cursor`.",
  security: [{ [BEARER]: [] }],
  request: { query: DeadLetterListParameters.omit({ reprocessed: true }) },
  responses: v1Responses({
    200: jsonResponse("What became of each letter of the page", ReprocessedPage),
    400: problemResponse("`invalid_parameter`: the message starts with the parameter's name"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

/** The dead-letter routes of `/v1`: list them; reprocess one, or a page of them by filter. */
export function addDeadLetterRoutes(v1: OpenAPIHono, deps: ReprocessDeps & { readonly db: Database }): void {
  addRoute(v1, listDeadLetters, async (c) => {
    const query = parseDeadLetterListQuery(new URL(c.req.url).searchParams);
    if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
    const rows = await deps.db.deadLetters.listDeadLetters({ filter: query.filter, limit: query.limit + 1, beforeId: query.beforeId });
    const { page, nextCursor } = pageOf(rows, query.limit, DEAD_LETTER_CURSOR);
    return c.json({ data: page.map(deadLetterJson), next_cursor: nextCursor });
  }, { queryParsedByHandler: true });
  addRoute(v1, reprocessManyRoute, (c) => reprocessMany(c, deps), { queryParsedByHandler: true });
  addRoute(v1, reprocessOneRoute, (c) => reprocessOne(c, c.req.valid("param").id, deps));
}
