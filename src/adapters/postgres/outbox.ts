import type { Outbox } from "../../ports/outbox.ts";
import { toOutboxEntry } from "./outbox-rows.ts";
import { appendOutboxEvent } from "./sql/append-outbox-event.ts";
import { claimOutboxEvents } from "./sql/claim-outbox-events.ts";
import { markOutboxProcessed } from "./sql/mark-outbox-processed.ts";
import type { SqlClient } from "./sql-client.ts";

/** Larger than any job a JavaScript string can hold: "no limit". */
const UNLIMITED = { maxJobBytes: 2 ** 52, maxTotalBytes: 2 ** 52 } as const;

// Outbox ids are bigserial; they travel as strings so no id is ever rounded by a JS number.
export function makeOutbox(sql: SqlClient): Outbox {
  return {
    appendEvent: (params) => appendOutboxEvent(sql, params),

    async claimPendingEvents({ limit, ids, jobLimits = UNLIMITED, processedAt }) {
      if (limit <= 0 || ids?.length === 0) return [];
      return (await claimOutboxEvents(sql, { limit, ids, jobLimits, processedAt })).map(toOutboxEntry);
    },

    async markProcessed({ ids, now }) {
      if (ids.length > 0) await markOutboxProcessed(sql, { ids, now });
    },
  };
}
