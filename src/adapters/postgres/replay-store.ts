import { isUuid } from "../../domain/uuid.ts";
import type { ReplayStore } from "../../ports/replays.ts";
import { filterToJson, toReplay } from "./replay-rows.ts";
import { cancelReplay } from "./sql/cancel-replay.ts";
import { countDueDeliveries } from "./sql/count-due-deliveries.ts";
import { getReplay } from "./sql/get-replay.ts";
import { insertReplay } from "./sql/insert-replay.ts";
import { lockNextReplay } from "./sql/lock-next-replay.ts";
import { matchReplay } from "./sql/match-replay.ts";
import { redriveReplayBatch } from "./sql/redrive-replay-batch.ts";
import { updateReplayProgress } from "./sql/update-replay-progress.ts";
import type { SqlClient } from "./sql-client.ts";

/** The ReplayStore port over Postgres. `advanceReplay` is up to four statements: run it in a transaction. */
export function makeReplayStore(sql: SqlClient): ReplayStore {
  return {
    async matchReplay(filter, max) {
      const { count, upper_id } = await matchReplay(sql, filter, max);
      return { count, upperId: upper_id };
    },

    async createReplay({ id, filter, match, now }) {
      return toReplay(await insertReplay(sql, { id, filter: filterToJson(filter), matched: match.count, upperId: match.upperId, now }));
    },

    async getReplay(id) {
      if (!isUuid(id)) return null;
      const row = await getReplay(sql, id);
      return row === undefined ? null : toReplay(row);
    },

    async cancelReplay({ id, now }) {
      const row = isUuid(id) ? await cancelReplay(sql, { id, now }) : undefined;
      if (row === undefined) return { outcome: "not_found", replay: null };
      return { outcome: row.cancelled ? "cancelled" : "not_running", replay: toReplay(row) };
    },

    async advanceReplay({ now, batchSize, maxDue }) {
      const locked = await lockNextReplay(sql);
      if (locked === undefined) return null;
      const replay = toReplay(locked);
      if ((await countDueDeliveries(sql, { now, max: maxDue })) >= maxDue) return { replay, waited: true, redriven: 0, skipped: 0, done: false };
      const batch = await redriveReplayBatch(sql, {
        replayId: locked.id,
        filter: replay.filter,
        afterId: locked.last_id,
        upperId: locked.upper_id!,
        batchSize,
        now,
      });
      const done = batch.scanned < batchSize;
      const skipped = batch.scanned - batch.redriven;
      const after = await updateReplayProgress(sql, { id: locked.id, lastId: batch.last_id, redriven: batch.redriven, skipped, done, now });
      return { replay: toReplay(after), waited: false, redriven: batch.redriven, skipped, done };
    },
  };
}
