import { isUuid } from "../../domain/uuid.ts";
import type { ReplayFilter } from "../../ports/replays.ts";
import { ORIGIN } from "./delivery-list-query.ts";
import { parseTimestamp, TIMESTAMP_MESSAGE, type QueryProblem } from "./list-query.ts";

/** A `POST /v1/replays` body, parsed. */
export interface ReplayRequest {
  readonly filter: ReplayFilter;
  readonly dryRun: boolean;
}

const FIELDS = ["status", "created_after", "created_before", "origin", "event", "job_ids", "dry_run"];
/** The statuses a replay may re-drive. */
export const REPLAY_STATUSES = ["failed", "pending", "sent"] as const satisfies readonly ReplayFilter["status"][];
/** Most job ids one replay may name. */
export const MAX_REPLAY_JOB_IDS = 1_000;

/**
 * Parses the body of `POST /v1/replays`: `created_after` and `created_before` (required, the
 * window of creation times), `status` (`failed` unless given), optional `origin`, `event`,
 * `job_ids`, and `dry_run`. A problem names the field at fault.
 */
export function parseReplayRequest(body: unknown): ReplayRequest | QueryProblem {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return { parameter: "body", message: "must be a JSON object" };
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((name) => !FIELDS.includes(name));
  if (unknown !== undefined) return { parameter: unknown, message: `unknown field; use ${FIELDS.join(", ")}` };
  const window = replayWindow(fields);
  if ("parameter" in window) return window;
  const status = fields.status ?? "failed";
  if (!(REPLAY_STATUSES as readonly unknown[]).includes(status)) return { parameter: "status", message: `must be one of ${REPLAY_STATUSES.join(", ")}` };
  const narrowing = replayNarrowing(fields);
  if ("parameter" in narrowing) return narrowing;
  const dryRun = fields.dry_run ?? false;
  if (typeof dryRun !== "boolean") return { parameter: "dry_run", message: "must be true or false" };
  return { filter: { status: status as ReplayFilter["status"], ...window, ...narrowing }, dryRun };
}

function replayWindow(fields: Record<string, unknown>): { createdAfter: Date; createdBefore: Date } | QueryProblem {
  const times: Date[] = [];
  for (const name of ["created_after", "created_before"]) {
    const value = fields[name];
    if (value === undefined || value === null) return { parameter: name, message: "is required: a replay covers a window of creation times" };
    const time = typeof value === "string" ? parseTimestamp(value) : null;
    if (time === null) return { parameter: name, message: TIMESTAMP_MESSAGE };
    times.push(time);
  }
  const [createdAfter, createdBefore] = times as [Date, Date];
  if (createdAfter >= createdBefore) return { parameter: "created_before", message: "must be later than created_after" };
  return { createdAfter, createdBefore };
}

function replayNarrowing(fields: Record<string, unknown>): Pick<ReplayFilter, "origin" | "event" | "jobIds"> | QueryProblem {
  const { origin, event, job_ids: jobIds } = fields;
  if (origin !== undefined && (typeof origin !== "string" || !ORIGIN.test(origin))) {
    return { parameter: "origin", message: "must be scheme://host or scheme://host:port, without a path" };
  }
  if (event !== undefined && (typeof event !== "string" || event === "" || event.length > 200)) return { parameter: "event", message: "must be 1 to 200 characters" };
  if (jobIds !== undefined) {
    const valid = Array.isArray(jobIds) && jobIds.length >= 1 && jobIds.length <= MAX_REPLAY_JOB_IDS && jobIds.every((id) => typeof id === "string" && isUuid(id));
    if (!valid) return { parameter: "job_ids", message: `must be an array of 1 to ${MAX_REPLAY_JOB_IDS} UUIDs` };
  }
  return {
    ...(origin === undefined ? {} : { origin: (origin as string).toLowerCase() }),
    ...(event === undefined ? {} : { event: event as string }),
    ...(jobIds === undefined ? {} : { jobIds: (jobIds as string[]).map((id) => id.toLowerCase()) }),
  };
}
