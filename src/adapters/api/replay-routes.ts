import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { Logger } from "../../ports/logger.ts";
import type { Replay } from "../../ports/replays.ts";
import { isProblem } from "./list-query.ts";
import { addRoute, BEARER, jsonResponse, problemResponse, readJsonBody, v1Responses } from "./openapi-route.ts";
import { problem } from "./problem.ts";
import { MAX_REPLAY_JOB_IDS, parseReplayRequest, REPLAY_STATUSES } from "./replay-request.ts";

interface ReplayDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly newId: () => string;
  /** A replay was created: start on it now. */
  readonly onReplayCreated: () => void;
}

/** Most deliveries one replay may cover; a wider filter is refused, to be split into narrower windows. */
export const MAX_REPLAY_ROWS = 1_000_000;

const Timestamp = z.iso.datetime({ offset: true }).openapi({ description: "RFC 3339", example: "2030-01-01T00:00:00Z" });
const Status = z.enum(REPLAY_STATUSES);

/** The body of `POST /v1/replays` as `parseReplayRequest` accepts it, for the document. */
const ReplayRequestBody = z
  .object({
    created_after: Timestamp.openapi({ description: "Deliveries created at or after this time (required)" }),
    created_before: Timestamp.openapi({ description: "Deliveries created before this time (required; later than created_after)" }),
    status: Status.optional().openapi({ description: "`failed` unless given; `sent` sends again with the same webhook-id" }),
    origin: z.string().optional().openapi({ description: "`scheme://host[:port]` of the receiver URL", example: "https://hooks.customer.example" }),
    event: z.string().min(1).max(200).optional(),
    job_ids: z.array(z.string().openapi({ format: "uuid" })).min(1).max(MAX_REPLAY_JOB_IDS).optional(),
    dry_run: z.boolean().optional().openapi({ description: "Only count what would be re-driven" }),
  })
  .strict()
  .openapi("ReplayRequest");

const ReplayView = z
  .object({
    id: z.string().openapi({ format: "uuid" }),
    status: z.enum(["running", "completed", "cancelled"]),
    filter: z.object({
      status: Status,
      created_after: z.iso.datetime(),
      created_before: z.iso.datetime(),
      origin: z.string().nullable(),
      event: z.string().nullable(),
      job_ids: z.array(z.string()).nullable(),
    }),
    matched: z.int().openapi({ description: "Deliveries that matched when the replay was created" }),
    redriven: z.int(),
    skipped: z.int().openapi({ description: "Passed over: an attempt held them, or they no longer had the status" }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    finished_at: z.iso.datetime().nullable(),
  })
  .openapi("Replay");

const ReplayIdParams = z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, format: "uuid", description: "A replay id" }) });
const notFound = problemResponse("`not_found`: no replay with this id");

const createReplay = createRoute({
  method: "post",
  path: "/replays",
  tags: ["replays"],
  summary: "Re-drive every delivery matching a filter, in the background",
  description: `Batches of at most 1,000, each its own transaction, behind the deliveries already due; resumes after a restart and re-drives no delivery twice. At most ${MAX_REPLAY_ROWS.toLocaleString("en-US")} deliveries per replay.`,
  security: [{ [BEARER]: [] }],
  request: { body: { required: true, content: { "application/json": { schema: ReplayRequestBody } } } },
  responses: v1Responses({
    200: jsonResponse("A dry run: how many deliveries would be re-driven", z.object({ dry_run: z.literal(true), matched: z.int() })),
    202: jsonResponse("The replay started", z.object({ replay_id: z.string().openapi({ format: "uuid" }), matched: z.int(), replay: ReplayView })),
    400: problemResponse("`invalid_json`; `invalid_body` (the message starts with the field's name); `replay_too_large`: split the window"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

const showReplay = createRoute({
  method: "get",
  path: "/replays/{id}",
  tags: ["replays"],
  summary: "A replay and its progress",
  security: [{ [BEARER]: [] }],
  request: { params: ReplayIdParams },
  responses: v1Responses({ 200: jsonResponse("The replay", z.object({ replay: ReplayView })), 404: notFound }),
});

const cancelReplay = createRoute({
  method: "post",
  path: "/replays/{id}/cancel",
  tags: ["replays"],
  summary: "Stop a running replay between two batches",
  description: "What it re-drove stays re-driven.",
  security: [{ [BEARER]: [] }],
  request: { params: ReplayIdParams },
  responses: v1Responses({
    200: jsonResponse("Cancelled", z.object({ replay: ReplayView })),
    404: notFound,
    409: problemResponse("`not_running`: the replay has already completed or been cancelled"),
    413: problemResponse("`payload_too_large`: bodies are limited to 64 KiB"),
  }),
});

/** The replay routes of `/v1`: start one (or count with a dry run), show it, cancel it. */
export function addReplayRoutes(v1: OpenAPIHono, deps: ReplayDeps): void {
  addRoute(v1, createReplay, async (c) => {
    const body = await readJsonBody(c, { empty: {} });
    if (!body.ok) return problem(c, 400, "invalid_json", body.message);
    const request = parseReplayRequest(body.value);
    if (isProblem(request)) return problem(c, 400, "invalid_body", `${request.parameter}: ${request.message}`);
    const match = await deps.db.replays.matchReplay(request.filter, MAX_REPLAY_ROWS);
    if (match.count > MAX_REPLAY_ROWS) {
      return problem(c, 400, "replay_too_large", `more than ${MAX_REPLAY_ROWS} deliveries match; split the window into narrower ones`);
    }
    if (request.dryRun) return c.json({ dry_run: true, matched: match.count }, 200);
    const replay = await deps.db.replays.createReplay({ id: deps.newId(), filter: request.filter, match, now: deps.clock.now() });
    deps.onReplayCreated();
    deps.logger.info("replay created", { replay_id: replay.id, matched: replay.matched });
    return c.json({ replay_id: replay.id, matched: replay.matched, replay: replayJson(replay) }, 202);
  });

  addRoute(v1, showReplay, async (c) => {
    const { id } = c.req.valid("param");
    const replay = await deps.db.replays.getReplay(id);
    if (replay === null) return problem(c, 404, "not_found", `no replay with id ${JSON.stringify(id)}`);
    return c.json({ replay: replayJson(replay) });
  });

  addRoute(v1, cancelReplay, async (c) => {
    const { id } = c.req.valid("param");
    const result = await deps.db.replays.cancelReplay({ id, now: deps.clock.now() });
    deps.logger.info("operator cancelled a replay", { replay_id: id, result: result.outcome });
    if (result.outcome === "not_found") return problem(c, 404, "not_found", `no replay with id ${JSON.stringify(id)}`);
    if (result.outcome === "not_running") return problem(c, 409, "not_running", `the replay has already ${result.replay!.status}`);
    return c.json({ replay: replayJson(result.replay!) });
  });
}

function replayJson(replay: Replay): z.infer<typeof ReplayView> {
  const { filter } = replay;
  return {
    id: replay.id,
    status: replay.status,
    filter: {
      status: filter.status,
      created_after: filter.createdAfter.toISOString(),
      created_before: filter.createdBefore.toISOString(),
      origin: filter.origin ?? null,
      event: filter.event ?? null,
      job_ids: filter.jobIds ? [...filter.jobIds] : null,
    },
    matched: replay.matched,
    redriven: replay.redriven,
    skipped: replay.skipped,
    created_at: replay.createdAt.toISOString(),
    updated_at: replay.updatedAt.toISOString(),
    finished_at: replay.finishedAt === null ? null : replay.finishedAt.toISOString(),
  };
}
