import type { DeadLetter } from "../../../ports/dead-letters.ts";
import type { SqlClient } from "../sql-client.ts";

/** Inserts dead letters in one statement: postgres.js expands the rows into one multi-row insert. */
export async function insertDeadLetters(sql: SqlClient, rows: readonly DeadLetter[]): Promise<void> {
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
  await sql`insert into webhook_dead_letters ${sql(values)}`;
}
