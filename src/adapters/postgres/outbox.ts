import type { Outbox, OutboxEntry } from "../../ports/outbox.ts";
import type { SqlClient } from "./sql-client.ts";

interface OutboxRow {
  id: string;
  job_id: string;
  event: string;
  trace_id: string | null;
}

// Outbox ids are bigserial; they travel as strings so no id is ever rounded by a JS number.
export function makeOutbox(sql: SqlClient): Outbox {
  return {
    async appendEvent({ jobId, event, traceId, now }): Promise<string> {
      const [row] = await sql<{ id: string }[]>`
        insert into webhook_outbox (job_id, event, trace_id, created_at)
        values (${jobId}, ${event}, ${traceId}::text, ${now})
        returning id::text as id`;
      if (row === undefined) throw new Error("insert into webhook_outbox returned no row");
      return row.id;
    },

    async claimPendingEvents({ limit, ids }): Promise<readonly OutboxEntry[]> {
      if (limit <= 0 || ids?.length === 0) return [];
      const rows = await sql<OutboxRow[]>`
        select id::text as id, job_id, event, trace_id
        from webhook_outbox
        where processed_at is null ${ids === undefined ? sql`` : sql`and id = any(${sql.array([...ids])}::bigint[])`}
        order by id
        limit ${limit}
        for update skip locked`;
      return rows.map((row) => ({ id: row.id, jobId: row.job_id, event: row.event, traceId: row.trace_id }));
    },

    async markProcessed({ ids, now }): Promise<void> {
      if (ids.length === 0) return;
      await sql`
        update webhook_outbox set processed_at = ${now}
        where id = any(${sql.array([...ids])}::bigint[])`;
    },
  };
}
