import { Hono, type Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { isUuid } from "../../domain/uuid.ts";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { SourceReadiness } from "../../ports/event-source.ts";
import type { Logger } from "../../ports/logger.ts";
import { actionJson, attemptJson, deadLetterJson, deliveryJson } from "./delivery-json.ts";
import { parseDeadLetterListQuery, DEAD_LETTER_CURSOR } from "./dead-letter-list-query.ts";
import { DELIVERY_CURSOR, parseDeliveryListQuery } from "./delivery-list-query.ts";
import { isProblem, pageOf } from "./list-query.ts";
import { cancelDelivery, retryDelivery } from "./operator-actions.ts";
import { maxEventsBodyBytes, postEvents } from "./events-route.ts";
import { problem } from "./problem.ts";

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
  /** WEBHOOK_MAX_PAYLOAD, bytes: an event that carries its job may be this plus 64 KiB (1 MiB when absent). */
  readonly maxPayloadBytes?: number;
}

/** Largest request body accepted by `/v1/*`, bytes. An event is well under 1 KiB. */
const MAX_BODY_BYTES = 64 * 1024;

/** The operators' HTTP API (Hono, web standards only: the same app serves on Node and Deno). */
export function createAdminApi(options: AdminApiOptions): Hono {
  const { db, logger } = options;
  const app = new Hono();

  app.get("/healthz", (c) => c.json({ status: "ok" }));

  app.get("/readyz", async (c) => {
    const reasons: string[] = [];
    try {
      await db.ping();
    } catch (error) {
      reasons.push(`database: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const source of options.sources()) {
      if (!source.ready) reasons.push(source.reason ?? `${source.name}: not ready`);
    }
    return reasons.length === 0 ? c.json({ status: "ready" }) : c.json({ status: "not_ready", reasons }, 503);
  });

  app.route("/v1", createV1Api(options));
  app.notFound((c) => problem(c as Context, 404, "not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    logger.error("admin API request failed", { method: c.req.method, path: new URL(c.req.url).pathname, error: error.message });
    return problem(c, 500, "internal_error", "the request could not be completed; see the dispatcher's log");
  });
  return app;
}

/** `/v1/*`: bearer-token and body-size guarded; queue an event, read deliveries. */
function createV1Api(options: AdminApiOptions): Hono {
  const { db } = options;
  const v1 = new Hono();
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

  v1.post("/events", (c) => postEvents(c, options));

  v1.get("/deliveries", (c) => listDeliveries(c, db));
  v1.get("/dead-letters", (c) => listDeadLetters(c, db));

  v1.get("/deliveries/:id", async (c) => {
    const id = c.req.param("id");
    const found = isUuid(id) ? await db.deliveries.getDelivery(id.toLowerCase()) : null;
    if (found === null) return problem(c, 404, "not_found", `no delivery with id ${JSON.stringify(id)}`);
    return c.json({ delivery: deliveryJson(found.delivery), attempts: found.attempts.map(attemptJson), actions: found.actions.map(actionJson) });
  });

  v1.post("/deliveries/:id/retry", (c) => retryDelivery(c, options));
  v1.post("/deliveries/:id/cancel", (c) => cancelDelivery(c, options));

  v1.get("/jobs/:job_id/deliveries", async (c) => {
    const jobId = c.req.param("job_id");
    if (!isUuid(jobId)) return problem(c, 400, "invalid_job_id", "job_id must be a UUID");
    const deliveries = await db.deliveries.listDeliveriesForJob(jobId.toLowerCase());
    return c.json({ job_id: jobId.toLowerCase(), deliveries: deliveries.map(deliveryJson) });
  });
  return v1;
}

/** `GET /v1/deliveries`: one page of the deliveries matching the query's filters, newest first. */
async function listDeliveries(c: Context, db: Database): Promise<Response> {
  const query = parseDeliveryListQuery(new URL(c.req.url).searchParams);
  if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
  const rows = await db.deliveries.listDeliveries({ filter: query.filter, limit: query.limit + 1, beforeId: query.beforeId });
  const { page, nextCursor } = pageOf(rows, query.limit, DELIVERY_CURSOR);
  return c.json({ data: page.map(deliveryJson), next_cursor: nextCursor });
}

/** `GET /v1/dead-letters`: one page of the dead letters matching the query's filters, newest first. */
async function listDeadLetters(c: Context, db: Database): Promise<Response> {
  const query = parseDeadLetterListQuery(new URL(c.req.url).searchParams);
  if (isProblem(query)) return problem(c, 400, "invalid_parameter", `${query.parameter}: ${query.message}`);
  const rows = await db.deadLetters.listDeadLetters({ filter: query.filter, limit: query.limit + 1, beforeId: query.beforeId });
  const { page, nextCursor } = pageOf(rows, query.limit, DEAD_LETTER_CURSOR);
  return c.json({ data: page.map(deadLetterJson), next_cursor: nextCursor });
}
