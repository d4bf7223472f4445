import type { DeadLetterFilter } from "../../../ports/dead-letters.ts";
import type { DeadLetterRow } from "../dead-letter-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * One page of dead letters, newest first; ids are bigints as text. Keyset paging on the
 * bigserial id (`id < beforeId`), like the delivery list. The reason code is what comes before
 * the first `:` of the reason.
 */
export async function listDeadLetters(
  sql: SqlClient,
  params: { limit: number; filter?: DeadLetterFilter; beforeId?: string },
): Promise<readonly DeadLetterRow[]> {
  const { limit, beforeId } = params;
  const filter = params.filter ?? {};
  return sql<DeadLetterRow[]>`
        select id::text as id, source, reason, job_id, event, trace_id, raw, topic, kafka_partition,
               kafka_offset, kafka_last_offset, message_key, created_at, reprocessed_at, delivery_id
        from webhook_dead_letters
        where true
          ${beforeId === undefined ? sql`` : sql`and id < ${beforeId}::bigint`}
          ${filter.source === undefined ? sql`` : sql`and source = ${filter.source}`}
          ${filter.reasonCode === undefined ? sql`` : sql`and split_part(reason, ':', 1) = ${filter.reasonCode}`}
          ${filter.createdAfter === undefined ? sql`` : sql`and created_at >= ${filter.createdAfter}`}
          ${filter.createdBefore === undefined ? sql`` : sql`and created_at < ${filter.createdBefore}`}
          ${filter.reprocessed === undefined ? sql`` : filter.reprocessed ? sql`and reprocessed_at is not null` : sql`and reprocessed_at is null`}
        order by id desc
        limit ${limit}`;
}
