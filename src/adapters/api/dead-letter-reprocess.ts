import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Database } from "../../ports/database.ts";
import type { ReprocessDeadLetter, ReprocessOutcome } from "../../ports/dead-letters.ts";
import type { Logger } from "../../ports/logger.ts";
import { DEAD_LETTER_CURSOR, parseDeadLetterListQuery } from "./dead-letter-list-query.ts";
import { isProblem, pageOf } from "./list-query.ts";
import { problem } from "./problem.ts";

export interface ReprocessDeps {
  readonly db: Database;
  readonly logger: Logger;
  readonly reprocessDeadLetter: ReprocessDeadLetter;
}

/**
 * `POST /v1/dead-letters/:id/reprocess`: reads the letter's job again; if it can be delivered now
 * the delivery is created (200 with its id), otherwise 409 with the reason (its code as `error`).
 */
export async function reprocessOne(c: Context, id: string, deps: ReprocessDeps): Promise<Response> {
  const result = await deps.reprocessDeadLetter(id);
  deps.logger.info("operator reprocessed a dead letter", { dead_letter_id: id, result: result.outcome });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no dead letter with id ${JSON.stringify(id)}`);
  if (result.outcome === "already_reprocessed") {
    return problem(c, 409, "already_reprocessed", `the dead letter was reprocessed already, into delivery ${result.deliveryId}`);
  }
  if (result.outcome === "refused") return problem(c, 409, reasonCode(result.reason), result.reason);
  return c.json({ result: "reprocessed", delivery_id: result.deliveryId, delivery_existed: result.existed });
}

/**
 * `POST /v1/dead-letters/reprocess?<the filter of GET /v1/dead-letters>`: reprocesses one page of
 * the matching letters not reprocessed yet, newest first, each in its own transaction; answers
 * per letter, and with `next_cursor` for the next page (letters refused again stay behind it).
 */
export async function reprocessMany(c: Context, deps: ReprocessDeps): Promise<Response> {
  const params = new URL(c.req.url).searchParams;
  if (params.has("reprocessed")) return problem(c, 400, "invalid_parameter", "reprocessed: the bulk form takes only letters not reprocessed yet");
  const query = parseDeadLetterListQuery(params);
  if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
  const rows = await deps.db.deadLetters.listDeadLetters({ filter: { ...query.filter, reprocessed: false }, limit: query.limit + 1, beforeId: query.beforeId });
  const { page, nextCursor } = pageOf(rows, query.limit, DEAD_LETTER_CURSOR);
  const results = [];
  for (const letter of page) results.push({ id: letter.id, ...resultJson(await deps.reprocessDeadLetter(letter.id)) });
  const reprocessed = results.filter((r) => r.result === "reprocessed").length;
  deps.logger.info("operator reprocessed dead letters", { reprocessed, refused: results.length - reprocessed });
  return c.json({ reprocessed, refused: results.length - reprocessed, results, next_cursor: nextCursor });
}

const ReprocessedFields = {
  delivery_id: z.string().openapi({ format: "uuid", description: "The delivery the letter became" }),
  delivery_existed: z.boolean().openapi({ description: "The delivery of its job and event had arrived since" }),
};

/** The answer of reprocessing one letter. */
export const Reprocessed = z.object({ result: z.literal("reprocessed"), ...ReprocessedFields }).openapi("Reprocessed");

/** The answer of the bulk form: per letter, the delivery it became or why not. */
export const ReprocessedPage = z
  .object({
    reprocessed: z.int(),
    refused: z.int(),
    results: z.array(
      z.union([
        z.object({ id: z.string(), result: z.literal("reprocessed"), ...ReprocessedFields }),
        z.object({ id: z.string(), result: z.literal("refused"), error: z.string(), message: z.string() }),
      ]),
    ),
    next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }),
  })
  .openapi("ReprocessedPage");

function resultJson(outcome: ReprocessOutcome) {
  switch (outcome.outcome) {
    case "reprocessed":
      return { result: "reprocessed" as const, delivery_id: outcome.deliveryId, delivery_existed: outcome.existed };
    case "refused":
      return { result: "refused" as const, error: reasonCode(outcome.reason), message: outcome.reason };
    case "already_reprocessed":
      return { result: "refused" as const, error: "already_reprocessed", message: `reprocessed already, into delivery ${outcome.deliveryId}` };
    case "not_found":
      return { result: "refused" as const, error: "not_found", message: "the dead letter is gone" };
  }
}

/** A reason's code: the part before its first `:`. */
const reasonCode = (reason: string) => reason.split(":")[0]!;
