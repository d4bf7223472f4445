import type { OutboxEntry } from "../../ports/outbox.ts";

/** A `webhook_outbox` row as the claim returns it; the bigserial id comes as text, so no JS number rounds it. */
export interface OutboxRow {
  id: string;
  job_id: string;
  event: string;
  trace_id: string | null;
  /** The `job` column, decoded by postgres.js; null when absent or left unread. */
  job: unknown;
  /** The job's size as JSON text when the claim left it unread, else null. */
  unread_job_bytes: number | null;
}

export function toOutboxEntry(row: OutboxRow): OutboxEntry {
  const entry = { id: row.id, jobId: row.job_id, event: row.event, traceId: row.trace_id };
  if (row.unread_job_bytes !== null) return { ...entry, unreadJobBytes: row.unread_job_bytes };
  return row.job === null ? entry : { ...entry, job: row.job };
}
