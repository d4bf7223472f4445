import type { ReplayRow } from "../replay-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** The oldest running replay that no other transaction holds, locked until this one ends. */
export async function lockNextReplay(sql: SqlClient): Promise<ReplayRow | undefined> {
  const [row] = await sql<ReplayRow[]>`
    select * from webhook_replays
    where status = 'running'
    order by created_at, id
    limit 1
    for update skip locked`;
  return row;
}
