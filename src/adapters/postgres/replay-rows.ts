import type { Replay, ReplayFilter, ReplayStatus } from "../../ports/replays.ts";

/** A replay's filter as stored in `webhook_replays.filter` (jsonb). */
export interface ReplayFilterJson {
  status: ReplayFilter["status"];
  created_after: string;
  created_before: string;
  origin?: string;
  event?: string;
  job_ids?: string[];
}

/** A `webhook_replays` row as postgres.js returns it. */
export interface ReplayRow {
  id: string;
  status: ReplayStatus;
  filter: ReplayFilterJson;
  matched: number;
  upper_id: string | null;
  last_id: string | null;
  redriven: number;
  skipped: number;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

export function filterToJson(filter: ReplayFilter): ReplayFilterJson {
  return {
    status: filter.status,
    created_after: filter.createdAfter.toISOString(),
    created_before: filter.createdBefore.toISOString(),
    ...(filter.origin === undefined ? {} : { origin: filter.origin }),
    ...(filter.event === undefined ? {} : { event: filter.event }),
    ...(filter.jobIds === undefined ? {} : { job_ids: [...filter.jobIds] }),
  };
}

export function filterFromJson(json: ReplayFilterJson): ReplayFilter {
  return {
    status: json.status,
    createdAfter: new Date(json.created_after),
    createdBefore: new Date(json.created_before),
    ...(json.origin === undefined ? {} : { origin: json.origin }),
    ...(json.event === undefined ? {} : { event: json.event }),
    ...(json.job_ids === undefined ? {} : { jobIds: json.job_ids }),
  };
}

export function toReplay(row: ReplayRow): Replay {
  return {
    id: row.id,
    status: row.status,
    filter: filterFromJson(row.filter),
    matched: row.matched,
    redriven: row.redriven,
    skipped: row.skipped,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
