import type { ReplayFilter } from "../../../ports/replays.ts";
import type { SqlClient } from "../sql-client.ts";
import { deliveryConditions } from "./delivery-filter.ts";

/** How many deliveries match a replay's filter, counting no further than `max + 1`, and the newest one's id. */
export async function matchReplay(sql: SqlClient, filter: ReplayFilter, max: number): Promise<{ count: number; upper_id: string | null }> {
  const [row] = await sql<{ count: number; upper_id: string | null }[]>`
    select count(*)::int as count, max(id::text)::uuid as upper_id
    from (
      select id from webhook_deliveries
      where true ${deliveryConditions(sql, filter)}
      limit ${max + 1}
    ) matching`;
  return row ?? { count: 0, upper_id: null };
}
