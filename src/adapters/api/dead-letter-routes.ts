import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Database } from "../../ports/database.ts";
import { DeadLetterView, deadLetterJson } from "./delivery-json.ts";
import { DEAD_LETTER_CURSOR, DeadLetterListParameters, parseDeadLetterListQuery } from "./dead-letter-list-query.ts";
import { isProblem, pageOf, pageOfSchema } from "./list-query.ts";
import { addRoute, BEARER, problemResponse, v1Responses } from "./openapi-route.ts";
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

/** `GET /v1/dead-letters`: one page of the dead letters matching the query's filters. */
export function addDeadLetterRoutes(v1: OpenAPIHono, deps: { readonly db: Database }): void {
  addRoute(v1, listDeadLetters, async (c) => {
    const query = parseDeadLetterListQuery(new URL(c.req.url).searchParams);
    if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
    const rows = await deps.db.deadLetters.listDeadLetters({ filter: query.filter, limit: query.limit + 1, beforeId: query.beforeId });
    const { page, nextCursor } = pageOf(rows, query.limit, DEAD_LETTER_CURSOR);
    return c.json({ data: page.map(deadLetterJson), next_cursor: nextCursor });
  }, { queryParsedByHandler: true });
}
