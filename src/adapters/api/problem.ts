import { z } from "@hono/zod-openapi";
import type { Context } from "hono";

/** Every error of the API: one JSON shape, a machine-readable `error` code and a human `message`. */
export const problem = (c: Context, status: 400 | 401 | 404 | 409 | 413 | 500 | 503, error: string, message: string) =>
  c.json({ error, message }, status);

/** The schema of `problem`'s answer, for the OpenAPI document. */
export const Problem = z
  .object({
    error: z.string().openapi({ description: "A machine-readable code, e.g. `invalid_parameter`, `not_found`", example: "invalid_parameter" }),
    message: z.string().openapi({ description: "What was wrong, for a person", example: "limit: must be a whole number from 1 to 200" }),
  })
  .openapi("Problem");
