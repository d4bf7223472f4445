import type { DeadLetterRow } from "../dead-letter-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** One dead letter (a whole-number id), locked until the transaction ends: two reprocessings of it take turns. */
export async function lockDeadLetter(sql: SqlClient, id: string): Promise<DeadLetterRow | undefined> {
  const [row] = await sql<DeadLetterRow[]>`
    select id::text as id, source, reason, job_id, event, trace_id, raw, topic, kafka_partition,
           kafka_offset, kafka_last_offset, message_key, created_at, reprocessed_at, delivery_id
    from webhook_dead_letters
    where id = ${id}::bigint
    for update`;
  return row;
}
