import type { Context } from "hono";
import type { Clock } from "../../ports/clock.ts";
import type { Database } from "../../ports/database.ts";
import type { Logger } from "../../ports/logger.ts";
import type { Replay } from "../../ports/replays.ts";
import { isProblem } from "./list-query.ts";
import { problem } from "./problem.ts";
import { parseReplayRequest } from "./replay-request.ts";
import { readJson } from "./read-json.ts";

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

/**
 * `POST /v1/replays`: counts the deliveries the filter matches; with `dry_run` that is all (200),
 * otherwise a replay of them starts in the background (202 with its id).
 */
export async function postReplay(c: Context, deps: ReplayDeps): Promise<Response> {
  const body = await readJson(c);
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
}

/** `GET /v1/replays/:id`: the replay and its progress. */
export async function getReplay(c: Context, db: Database): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const replay = await db.replays.getReplay(id);
  if (replay === null) return problem(c, 404, "not_found", `no replay with id ${JSON.stringify(id)}`);
  return c.json({ replay: replayJson(replay) });
}

/** `POST /v1/replays/:id/cancel`: a running replay stops between batches; what it re-drove stays re-driven. */
export async function cancelReplay(c: Context, deps: ReplayDeps): Promise<Response> {
  const id = c.req.param("id") ?? "";
  const result = await deps.db.replays.cancelReplay({ id, now: deps.clock.now() });
  deps.logger.info("operator cancelled a replay", { replay_id: id, result: result.outcome });
  if (result.outcome === "not_found") return problem(c, 404, "not_found", `no replay with id ${JSON.stringify(id)}`);
  if (result.outcome === "not_running") return problem(c, 409, "not_running", `the replay has already ${result.replay!.status}`);
  return c.json({ replay: replayJson(result.replay!) });
}

export function replayJson(replay: Replay) {
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
      job_ids: filter.jobIds ?? null,
    },
    matched: replay.matched,
    redriven: replay.redriven,
    skipped: replay.skipped,
    created_at: replay.createdAt.toISOString(),
    updated_at: replay.updatedAt.toISOString(),
    finished_at: replay.finishedAt === null ? null : replay.finishedAt.toISOString(),
  };
}
