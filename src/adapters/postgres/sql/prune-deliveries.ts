import type { PruneBatch } from "../../../ports/retention.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * Deletes up to `limit` finished deliveries created and last changed before `before`, their
 * attempts (on delete cascade) and their operator actions, in one statement. `created_at` lets the
 * BRIN index find old rows without reading the table; `skip locked` leaves rows another process is
 * pruning, or an operator is re-driving, to them.
 */
export async function pruneDeliveries(sql: SqlClient, { before, limit }: PruneBatch): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    with doomed as (
      select id from webhook_deliveries
      where created_at < ${before} and updated_at < ${before} and status in ('sent', 'failed')
      limit ${limit}
      for update skip locked
    ), actions as (
      delete from webhook_operator_actions where delivery_id in (select id from doomed)
    ), deleted as (
      delete from webhook_deliveries where id in (select id from doomed) returning 1
    )
    select count(*)::int as n from deleted`;
  return row?.n ?? 0;
}
