import type { SqlClient } from "../sql-client.ts";

/**
 * How many pending deliveries are due at `now`, counting no further than `atMost`: it reads at
 * most `atMost` entries of webhook_deliveries_due_idx (leased rows are not in its due range), so
 * the answer stays cheap whatever the backlog.
 */
export async function countDue(sql: SqlClient, params: { now: Date; atMost: number }): Promise<number> {
  const { now, atMost } = params;
  const [row] = await sql<{ due: number }[]>`
        select count(*)::int as due from (
          select 1 from webhook_deliveries where status = 'pending' and next_attempt_at <= ${now} limit ${atMost}
        ) as d`;
  return row?.due ?? 0;
}
