import type { Job } from "../../domain/job.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { BodyLimits, JobReader } from "../../ports/job-reader.ts";
import { toJob } from "./job-rows.ts";
import { findJobs } from "./sql/find-jobs.ts";
import type { SqlClient } from "./sql-client.ts";

/** Larger than any body a JavaScript string can hold: "no limit". */
const UNLIMITED = { maxPayloadBytes: 2 ** 52, maxTotalBytes: 2 ** 52 } as const;

export function makeJobReader(sql: SqlClient): JobReader {
  return {
    async findJobs(ids: readonly string[], limits: BodyLimits = UNLIMITED): Promise<ReadonlyMap<string, Job>> {
      // Malformed ids name no job; dropping them first keeps one bad id from failing the batch.
      const wanted = [...new Set(ids.filter(isUuid))];
      const found = new Map<string, Job>();
      if (wanted.length === 0) return found;
      const rows = await findJobs(sql, { ids: wanted, limits });
      const byId = new Map(rows.map((row) => [row.id, toJob(row)]));
      // Keyed by the id as the caller spelled it (uuids compare case-insensitively).
      for (const id of wanted) {
        const job = byId.get(id.toLowerCase());
        if (job !== undefined) found.set(id, job);
      }
      return found;
    },
  };
}
