import type { DeadLetter, StoredDeadLetter } from "../../ports/dead-letters.ts";
import { toBytes } from "./sql-client.ts";

/** A `webhook_dead_letters` row as the listing returns it; the bigserial id comes as text. */
export interface DeadLetterRow {
  id: string;
  source: DeadLetter["source"];
  reason: string;
  job_id: string | null;
  event: string | null;
  trace_id: string | null;
  raw: Uint8Array | null;
  topic: string | null;
  kafka_partition: number | null;
  kafka_offset: string | null;
  kafka_last_offset: string | null;
  message_key: Uint8Array | null;
  created_at: Date;
  reprocessed_at: Date | null;
  delivery_id: string | null;
}

export function toStoredDeadLetter(row: DeadLetterRow): StoredDeadLetter {
  return {
    id: row.id,
    source: row.source,
    reason: row.reason,
    jobId: row.job_id,
    event: row.event,
    traceId: row.trace_id,
    raw: toBytes(row.raw),
    topic: row.topic,
    partition: row.kafka_partition,
    offset: row.kafka_offset,
    lastOffset: row.kafka_last_offset,
    key: toBytes(row.message_key),
    createdAt: row.created_at,
    reprocessedAt: row.reprocessed_at,
    deliveryId: row.delivery_id,
  };
}
