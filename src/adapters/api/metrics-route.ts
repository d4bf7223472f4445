import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { timingSafeEqual } from "hono/utils/buffer";
import { addRoute, problemResponse } from "./openapi-route.ts";
import { problem } from "./problem.ts";

/** What `/metrics` serves: the exposition in the Prometheus text format. */
export interface MetricsExposition {
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
}

interface MetricsDeps {
  readonly metrics: MetricsExposition;
  /** Bearer token `/metrics` asks for; null leaves it open. */
  readonly metricsToken?: string | null;
}

/** The name of the optional bearer scheme of `/metrics` in the document. */
const METRICS_BEARER = "metricsToken";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["metrics"],
  summary: "Prometheus metrics: deliveries, attempts, latency, backlog, dead letters, retention, process",
  description: "The Prometheus text exposition format. Asks for `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set; open otherwise.",
  security: [{ [METRICS_BEARER]: [] }, {}],
  responses: {
    200: { description: "Every metric", content: { "text/plain": { schema: z.string() } } },
    401: problemResponse("`unauthorized`: METRICS_TOKEN is set and the request has no bearer token or a wrong one"),
    500: problemResponse("`internal_error`: the metrics could not be gathered; the cause is in the dispatcher's log"),
  },
});

/** `/metrics`, outside `/v1`: a scraper needs no admin token, only METRICS_TOKEN when that is set. */
export function addMetricsRoute(app: OpenAPIHono, deps: MetricsDeps): void {
  app.openAPIRegistry.registerComponent("securitySchemes", METRICS_BEARER, {
    type: "http",
    scheme: "bearer",
    description: "`METRICS_TOKEN`, needed by `/metrics` only when it is set",
  });
  const token = deps.metricsToken ?? null;
  addRoute(app, metricsRoute, async (c) => {
    if (token !== null && !(await hasBearer(c, token))) return problem(c as Context, 401, "unauthorized", "missing or wrong Authorization: Bearer <METRICS_TOKEN>");
    const { contentType, body } = await deps.metrics.scrape();
    return c.body(body, 200, { "content-type": contentType });
  });
}

/** Compared as bearerAuth compares ADMIN_TOKEN on `/v1`: hashed, so the time taken says nothing about the token. */
async function hasBearer(c: Context, token: string): Promise<boolean> {
  const match = /^Bearer +(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  return match !== null && (await timingSafeEqual(match[1]!, token));
}
