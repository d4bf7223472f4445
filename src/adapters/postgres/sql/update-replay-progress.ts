import type { ReplayRow } from "../replay-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** Moves a replay past its last batch, and completes it when `done`. */
export async function updateReplayProgress(
  sql: SqlClient,
  params: { id: string; lastId: string | null; redriven: number; skipped: number; done: boolean; now: Date },
): Promise<ReplayRow> {
  const { id, lastId, redriven, skipped, done, now } = params;
  const [row] = await sql<ReplayRow[]>`
    update webhook_replays
    set last_id = coalesce(${lastId}::uuid, last_id),
        redriven = redriven + ${redriven},
        skipped = skipped + ${skipped},
        status = case when ${done}::boolean then 'completed' else status end,
        finished_at = case when ${done}::boolean then ${now}::timestamptz else finished_at end,
        updated_at = ${now}
    where id = ${id}
    returning *`;
  return row!;
}
