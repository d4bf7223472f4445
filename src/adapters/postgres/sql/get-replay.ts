import type { ReplayRow } from "../replay-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** One replay by id (a valid uuid). */
export async function getReplay(sql: SqlClient, id: string): Promise<ReplayRow | undefined> {
  const [row] = await sql<ReplayRow[]>`select * from webhook_replays where id = ${id}`;
  return row;
}
