import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { ReprocessDeadLetter } from "../../ports/dead-letters.ts";
import type { SourceReadiness } from "../../ports/event-source.ts";
import type { Metrics } from "../../ports/metrics.ts";
import type { Logger } from "../../ports/logger.ts";
import { addDeadLetterRoutes } from "./dead-letter-routes.ts";
import { addDeliveryRoutes } from "./delivery-routes.ts";
import { addEventRoutes } from "./event-routes.ts";
import { maxEventsBodyBytes } from "./events-route.ts";
import { addHealthRoutes } from "./health-routes.ts";
import { addMetricsRoute, type MetricsExposition } from "./metrics-route.ts";
import { addReplayRoutes } from "./replay-routes.ts";
import { BEARER, newApiApp } from "./openapi-route.ts";
import { problem } from "./problem.ts";
import { addReferencePage } from "./reference-page.ts";

export interface AdminApiOptions {
  readonly db: Database;
  /** Bearer token for `/v1/*`; null means the `/v1` API refuses every call. */
  readonly adminToken: string | null;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Readiness of each event source, for `/readyz`. */
  readonly sources: () => readonly (SourceReadiness & { readonly name: string })[];
  /** Called after `POST /v1/events` appended to the outbox, so the poller looks at once. */
  readonly onEventAppended: () => void;
  /** A new UUID (replay ids). */
  readonly newId: () => string;
  /** Called after `POST /v1/replays` created a replay, so it starts at once. */
  readonly onReplayCreated: () => void;
  /** Reprocesses one dead letter (the intake's work, done by the app). */
  readonly reprocessDeadLetter: ReprocessDeadLetter;
  /** WEBHOOK_MAX_PAYLOAD, bytes: an event that carries its job may be this plus 64 KiB (1 MiB when absent). */
  readonly maxPayloadBytes?: number;
  /** What `/metrics` serves; also counts the deliveries operators cancel. */
  readonly metrics: MetricsExposition & Pick<Metrics, "deliveryEnded">;
  /** Bearer token for `/metrics`; null or absent leaves it open. */
  readonly metricsToken?: string | null;
}

/** Largest request body accepted by `/v1/*`, bytes. An event is well under 1 KiB. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * The operators' HTTP API (Hono, web standards only: the same app serves on Node and Deno).
 * Every route is declared once with its schemas (see `openapi-route.ts`); `/openapi.json` is
 * generated from those declarations and `/docs` shows it.
 */
export function createAdminApi(options: AdminApiOptions): OpenAPIHono {
  const { logger } = options;
  const app = newApiApp();
  addHealthRoutes(app, options);
  addMetricsRoute(app, options);
  // Mounting copies the sub-app's declarations into this app's document: its routes come first.
  app.route("/v1", createV1Api(options));
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER, {
    type: "http",
    scheme: "bearer",
    description: "`ADMIN_TOKEN`; every `/v1` route needs it",
  });
  addReferencePage(app, () =>
    app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: { title: "stories-dispatcher admin API", version: "1", description: "Queue events, inspect and re-drive webhook deliveries, read dead letters." },
    }),
  );
  app.notFound((c) => problem(c as Context, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger.error("admin API request failed", { method: c.req.method, path: new URL(c.req.url).pathname, error: error.message });
    return problem(c, 500, "internal_error", "the request could not be completed; see the dispatcher's log");
  });
  return app;
}

/** `/v1/*`: bearer-token and body-size guarded; queue events, find and re-drive deliveries, replay, reprocess dead letters. */
function createV1Api(options: AdminApiOptions): OpenAPIHono {
  const v1 = newApiApp();
  v1.use(
    "*",
    options.adminToken === null
      ? async (c) => problem(c, 401, "unauthorized", "the /v1 API is disabled: ADMIN_TOKEN is not set")
      : bearerAuth({
          token: options.adminToken,
          noAuthenticationHeader: { message: { error: "unauthorized", message: "missing Authorization: Bearer <ADMIN_TOKEN>" } },
          invalidAuthenticationHeader: { message: { error: "bad_request", message: "malformed Authorization header" } },
          invalidToken: { message: { error: "unauthorized", message: "invalid token" } },
        }),
  );
  // Events may be larger than any other request (a batch, or a job with its markup); the route holds one event without a job to 64 KiB.
  const limitTo = (maxSize: number) =>
    bodyLimit({ maxSize, onError: (c) => problem(c, 413, "payload_too_large", `request bodies here are limited to ${maxSize} bytes`) });
  const batchLimit = limitTo(maxEventsBodyBytes(options.maxPayloadBytes));
  const otherLimit = limitTo(MAX_BODY_BYTES);
  v1.use("*", (c, next) => (c.req.method === "POST" && c.req.path.endsWith("/v1/events") ? batchLimit(c, next) : otherLimit(c, next)));

  addEventRoutes(v1, options);
  addDeliveryRoutes(v1, options);
  addReplayRoutes(v1, options);
  addDeadLetterRoutes(v1, options);
  return v1;
}
