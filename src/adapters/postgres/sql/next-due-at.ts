import type { SqlClient } from "../sql-client.ts";

/**
 * The earliest next attempt among pending deliveries, or null: the first entry of the partial
 * index webhook_deliveries_due_idx (a leased row counts at its lease expiry).
 */
export async function nextDueAt(sql: SqlClient): Promise<Date | null> {
  const [row] = await sql<{ at: Date | null }[]>`
        select min(next_attempt_at) as at from webhook_deliveries where status = 'pending'`;
  return row?.at ?? null;
}
