import type { BodyLimits } from "../../../ports/job-reader.ts";
import type { JobRow } from "../job-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * The jobs named by `ids` (valid uuids), in one round trip, with their body fields read only
 * within `limits`. octet_length reads a stored value's size from its TOAST header without
 * fetching it, so a body that is not read here never leaves Postgres: a job with 64 MiB of
 * markup costs the dispatcher nothing. The running sum keeps one look-up's bodies within the
 * byte budget.
 */
export async function findJobs(sql: SqlClient, params: { ids: readonly string[]; limits: BodyLimits }): Promise<readonly JobRow[]> {
  const { ids, limits } = params;
  return sql<JobRow[]>`
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
            where j.id = any(${sql.array([...ids])}::uuid[])
          ) sized
        ) decided`;
}
