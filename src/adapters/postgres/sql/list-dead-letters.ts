import type { DeadLetterRow } from "../dead-letter-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** The newest `limit` dead letters, newest first; ids are bigints as text. */
export async function listDeadLetters(sql: SqlClient, params: { limit: number }): Promise<readonly DeadLetterRow[]> {
  return sql<DeadLetterRow[]>`
        select id::text as id, source, reason, job_id, event, trace_id, raw, topic, kafka_partition,
               kafka_offset, kafka_last_offset, message_key, created_at
        from webhook_dead_letters
        order by id desc
        limit ${params.limit}`;
}
