import type { DeadLetter, DeadLetterStore, StoredDeadLetter } from "../../ports/dead-letters.ts";
import { type SqlClient, toBytes } from "./sql-client.ts";

interface DeadLetterRow {
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
}

export function makeDeadLetterStore(sql: SqlClient): DeadLetterStore {
  return {
    async recordDeadLetters(rows: readonly DeadLetter[]): Promise<void> {
      if (rows.length === 0) return;
      const values = rows.map((row) => ({
        source: row.source,
        reason: row.reason,
        job_id: row.jobId,
        event: row.event,
        trace_id: row.traceId,
        raw: row.raw,
        topic: row.topic,
        kafka_partition: row.partition,
        kafka_offset: row.offset,
        kafka_last_offset: row.lastOffset,
        message_key: row.key,
        created_at: row.createdAt,
      }));
      // postgres.js expands the rows into one multi-row insert.
      await sql`insert into webhook_dead_letters ${sql(values)}`;
    },

    async listDeadLetters({ limit }): Promise<readonly StoredDeadLetter[]> {
      if (limit <= 0) return [];
      const rows = await sql<DeadLetterRow[]>`
        select id::text as id, source, reason, job_id, event, trace_id, raw, topic, kafka_partition,
               kafka_offset, kafka_last_offset, message_key, created_at
        from webhook_dead_letters
        order by id desc
        limit ${limit}`;
      return rows.map((row) => ({
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
      }));
    },
  };
}
