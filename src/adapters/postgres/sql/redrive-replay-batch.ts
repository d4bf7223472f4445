import type { ReplayFilter } from "../../../ports/replays.ts";
import type { SqlClient } from "../sql-client.ts";
import { deliveryConditions } from "./delivery-filter.ts";
import { notInFlight, redriveAssignments } from "./redrive-fragments.ts";

export interface ReplayBatchRow {
  /** The newest delivery the batch looked at; null when it found none. */
  last_id: string | null;
  scanned: number;
  redriven: number;
}

/**
 * One batch of a replay in one statement: the next `batchSize` deliveries after `afterId` (up to
 * `upperId`, oldest first) that still match the filter are re-driven as an operator's retry is —
 * pending and due now, with a fresh attempt budget — except those an attempt holds (leased),
 * and each re-driven one gets a `replay` operator action. The batch's rows are locked before
 * they are read for the update, so a row an attempt completes meanwhile is re-read and, no
 * longer matching the status, passed over rather than sent again.
 */
export async function redriveReplayBatch(
  sql: SqlClient,
  params: { replayId: string; filter: ReplayFilter; afterId: string | null; upperId: string; batchSize: number; now: Date },
): Promise<ReplayBatchRow> {
  const { replayId, filter, afterId, upperId, batchSize, now } = params;
  const [row] = await sql<ReplayBatchRow[]>`
    with batch as (
      select id from webhook_deliveries
      where id <= ${upperId}
        ${afterId === null ? sql`` : sql`and id > ${afterId}`}
        ${deliveryConditions(sql, filter)}
      order by id
      limit ${batchSize}
      for update
    ), changed as (
      update webhook_deliveries d
      set ${redriveAssignments(sql, now)}
      from batch
      where d.id = batch.id and ${notInFlight(sql, now)}
      returning d.id
    ), recorded as (
      insert into webhook_operator_actions (delivery_id, action, result, created_at, replay_id)
      select id, 'replay', 'redriven', ${now}, ${replayId} from changed
    )
    select (select max(id::text) from batch)::uuid as last_id,
           (select count(*) from batch)::int as scanned,
           (select count(*) from changed)::int as redriven`;
  return row!;
}
