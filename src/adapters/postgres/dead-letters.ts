import type { DeadLetterStore } from "../../ports/dead-letters.ts";
import { toStoredDeadLetter } from "./dead-letter-rows.ts";
import { insertDeadLetters } from "./sql/insert-dead-letters.ts";
import { listDeadLetters } from "./sql/list-dead-letters.ts";
import { lockDeadLetter } from "./sql/lock-dead-letter.ts";
import { markDeadLetterReprocessed } from "./sql/mark-dead-letter-reprocessed.ts";
import type { SqlClient } from "./sql-client.ts";

/** A bigserial id as the API gives it: anything else names no row (and would not cast). */
const WHOLE_NUMBER = /^\d{1,18}$/;

export function makeDeadLetterStore(sql: SqlClient): DeadLetterStore {
  return {
    async recordDeadLetters(rows) {
      if (rows.length > 0) await insertDeadLetters(sql, rows);
    },

    async listDeadLetters(params) {
      if (params.limit <= 0 || (params.beforeId !== undefined && !WHOLE_NUMBER.test(params.beforeId))) return [];
      return (await listDeadLetters(sql, params)).map(toStoredDeadLetter);
    },

    async lockDeadLetter(id) {
      if (!WHOLE_NUMBER.test(id)) return null;
      const row = await lockDeadLetter(sql, id);
      return row === undefined ? null : toStoredDeadLetter(row);
    },

    async markReprocessed(params) {
      await markDeadLetterReprocessed(sql, params);
    },
  };
}
