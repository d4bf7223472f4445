import type { OutboxJobLimits } from "../../../ports/outbox.ts";
import type { OutboxRow } from "../outbox-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * Locks up to `limit` unprocessed outbox rows, oldest first, only among `ids` when given,
 * skipping rows that another transaction holds, and returns those whose jobs fit `jobLimits`:
 * a job over `maxJobBytes` is not returned (its size is), and the rows after the running sum of
 * job sizes passes `maxTotalBytes` are left for the next claim (their locks end with the
 * caller's transaction, which does not process them). So a claim of 500 rows that carry
 * 1 MiB jobs brings 16 MiB into memory, not 500 MiB. The first row is always returned. With
 * `processedAt`, the rows returned are marked processed in the same statement.
 */
export async function claimOutboxEvents(
  sql: SqlClient,
  params: { limit: number; ids?: readonly string[]; jobLimits: OutboxJobLimits; processedAt?: Date },
): Promise<readonly OutboxRow[]> {
  const { limit, ids, jobLimits, processedAt } = params;
  return sql<OutboxRow[]>`
        with claimed as (
          select id, job_id, event, trace_id, job, octet_length(job::text)::bigint as job_bytes
          from webhook_outbox
          where processed_at is null ${ids === undefined ? sql`` : sql`and id = any(${sql.array([...ids])}::bigint[])`}
          order by id
          limit ${limit}
          for update skip locked
        ), sized as (
          select *, coalesce(case when job_bytes > ${jobLimits.maxJobBytes} then 0 else job_bytes end, 0) as read_bytes
          from claimed
        ), summed as (
          select *, coalesce(sum(read_bytes) over (order by id rows between unbounded preceding and 1 preceding), 0) as read_before
          from sized
        ), taken as (
          select * from summed where read_before = 0 or read_before + read_bytes <= ${jobLimits.maxTotalBytes}
        )${
          processedAt === undefined
            ? sql``
            : sql`, marked as (
          update webhook_outbox set processed_at = ${processedAt} from taken where webhook_outbox.id = taken.id
        )`
        }
        select id::text as id, job_id, event, trace_id,
               case when job_bytes > ${jobLimits.maxJobBytes} then null else job end as job,
               case when job_bytes > ${jobLimits.maxJobBytes} then job_bytes::float8 end as unread_job_bytes
        from taken
        order by taken.id`;
}
