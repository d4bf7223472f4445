import type { OutboxEntry } from "../../ports/outbox.ts";

/** A `webhook_outbox` row as the claim returns it; the bigserial id comes as text, so no JS number rounds it. */
export interface OutboxRow {
  id: string;
  job_id: string;
  event: string;
  trace_id: string | null;
}

export function toOutboxEntry(row: OutboxRow): OutboxEntry {
  return { id: row.id, jobId: row.job_id, event: row.event, traceId: row.trace_id };
}
