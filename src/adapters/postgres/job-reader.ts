import type { Job } from "../../domain/job.ts";
import type { BodyLimits, JobReader } from "../../ports/job-reader.ts";
import { isUuid } from "../../domain/uuid.ts";
import { type JobRow, toJob } from "./job-rows.ts";
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
      // octet_length reads a stored value's size from its TOAST header without fetching it, so a
      // body that is not read here never leaves Postgres: a job with 64 MiB of markup costs the
      // dispatcher nothing. The running sum keeps one look-up's bodies within the byte budget.
      const rows = await sql<JobRow[]>`
        select id, status, finished_at, webhook_url, webhook_secret, body_bytes::text, body,
               case when body = 'read' then output_markup end as output_markup,
               case when body = 'read' then error_code end as error_code,
               case when body = 'read' then error_message end as error_message
        from (
          select *,
                 case when body_bytes > ${limits.maxPayloadBytes} then 'too_large'
                      when coalesce(read_before, 0) = 0 or read_before + body_bytes <= ${limits.maxTotalBytes} then 'read'
                      else 'over_budget' end as body
          from (
            select j.id, j.status, j.finished_at, j.output_markup, j.error_code, j.error_message, j.webhook_url,
                   j.webhook_secret, s.body_bytes,
                   sum(case when s.body_bytes > ${limits.maxPayloadBytes} then 0 else s.body_bytes end)
                     over (order by j.id rows between unbounded preceding and 1 preceding) as read_before
            from jobs j
            cross join lateral (
              select coalesce(octet_length(j.output_markup), 0)::bigint + coalesce(octet_length(j.error_code), 0)
                     + coalesce(octet_length(j.error_message), 0) as body_bytes
            ) s
            where j.id = any(${sql.array(wanted)}::uuid[])
          ) sized
        ) decided`;
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
