import type { SqlClient } from "../sql-client.ts";

/** Appends one event to the outbox; returns the new row's id as text, so no bigint is rounded by a JS number. */
export async function appendOutboxEvent(
  sql: SqlClient,
  params: { jobId: string; event: string; traceId: string | null; now: Date },
): Promise<string> {
  const { jobId, event, traceId, now } = params;
  const [row] = await sql<{ id: string }[]>`
        insert into webhook_outbox (job_id, event, trace_id, created_at)
        values (${jobId}, ${event}, ${traceId}::text, ${now})
        returning id::text as id`;
  if (row === undefined) throw new Error("insert into webhook_outbox returned no row");
  return row.id;
}
