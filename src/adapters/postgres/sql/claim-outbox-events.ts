import type { OutboxRow } from "../outbox-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * Locks up to `limit` unprocessed outbox rows, oldest first, only among `ids` when given,
 * skipping rows that another transaction holds. The lock lasts until the caller's transaction
 * ends.
 */
export async function claimOutboxEvents(
  sql: SqlClient,
  params: { limit: number; ids?: readonly string[] },
): Promise<readonly OutboxRow[]> {
  const { limit, ids } = params;
  return sql<OutboxRow[]>`
        select id::text as id, job_id, event, trace_id
        from webhook_outbox
        where processed_at is null ${ids === undefined ? sql`` : sql`and id = any(${sql.array([...ids])}::bigint[])`}
        order by id
        limit ${limit}
        for update skip locked`;
}
