import type { SqlClient } from "../sql-client.ts";

/**
 * Pending deliveries due at `now`, counted no further than `max` (the due index answers it). A
 * leased row's next_attempt_at is its lease expiry, so leased rows are not due.
 */
export async function countDueDeliveries(sql: SqlClient, params: { now: Date; max: number }): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select 1 from webhook_deliveries
      where status = 'pending' and next_attempt_at <= ${params.now}
      limit ${params.max}
    ) due`;
  return row?.n ?? 0;
}
