import type { Context } from "hono";

/** Every error of the API: one JSON shape, a machine-readable `error` code and a human `message`. */
export const problem = (c: Context, status: 400 | 401 | 404 | 409 | 413 | 500 | 503, error: string, message: string) =>
  c.json({ error, message }, status);
