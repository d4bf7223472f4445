import type { DeadLetterStore } from "../../ports/dead-letters.ts";
import { toStoredDeadLetter } from "./dead-letter-rows.ts";
import { insertDeadLetters } from "./sql/insert-dead-letters.ts";
import { listDeadLetters } from "./sql/list-dead-letters.ts";
import type { SqlClient } from "./sql-client.ts";

export function makeDeadLetterStore(sql: SqlClient): DeadLetterStore {
  return {
    async recordDeadLetters(rows) {
      if (rows.length > 0) await insertDeadLetters(sql, rows);
    },

    async listDeadLetters(params) {
      if (params.limit <= 0 || (params.beforeId !== undefined && !/^\d{1,18}$/.test(params.beforeId))) return [];
      return (await listDeadLetters(sql, params)).map(toStoredDeadLetter);
    },
  };
}
