import type { ReplayRow, ReplayFilterJson } from "../replay-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** A new running replay over the deliveries up to `upperId` (none when null: it completes at once). */
export async function insertReplay(
  sql: SqlClient,
  params: { id: string; filter: ReplayFilterJson; matched: number; upperId: string | null; now: Date },
): Promise<ReplayRow> {
  const { id, filter, matched, upperId, now } = params;
  const [row] = await sql<ReplayRow[]>`
    insert into webhook_replays (id, status, filter, matched, upper_id, created_at, updated_at, finished_at)
    values (${id}, ${upperId === null ? "completed" : "running"}, ${sql.json(filter as never)}, ${matched}, ${upperId},
            ${now}, ${now}, ${upperId === null ? now : null})
    returning *`;
  return row!;
}
