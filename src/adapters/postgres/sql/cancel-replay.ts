import type { ReplayRow } from "../replay-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * Cancels a running replay; `cancelled` says whether this call did. It waits for a batch in
 * progress (which holds the row) to commit, so the replay stops between batches.
 */
export async function cancelReplay(sql: SqlClient, params: { id: string; now: Date }): Promise<(ReplayRow & { cancelled: boolean }) | undefined> {
  const { id, now } = params;
  const [row] = await sql<(ReplayRow & { cancelled: boolean })[]>`
    with changed as (
      update webhook_replays set status = 'cancelled', updated_at = ${now}, finished_at = ${now}
      where id = ${id} and status = 'running'
      returning *
    )
    select changed.*, true as cancelled from changed
    union all
    select r.*, false as cancelled from webhook_replays r where r.id = ${id} and not exists (select 1 from changed)`;
  return row;
}
