import type { SqlClient } from "../sql-client.ts";

/**
 * Appends one event to the outbox, with its job (jsonb) when it carries one; returns the new
 * row's id as text, so no bigint is rounded by a JS number.
 */
export async function appendOutboxEvent(
  sql: SqlClient,
  params: { jobId: string; event: string; traceId: string | null; job?: Readonly<Record<string, unknown>> | null; now: Date },
): Promise<string> {
  const { jobId, event, traceId, job, now } = params;
  const [row] = await sql<{ id: string }[]>`
        insert into webhook_outbox (job_id, event, trace_id, job, created_at)
        values (${jobId}, ${event}, ${traceId}::text, ${job == null ? null : sql.json(job as never)}::jsonb, ${now})
        returning id::text as id`;
  if (row === undefined) throw new Error("insert into webhook_outbox returned no row");
  return row.id;
}
