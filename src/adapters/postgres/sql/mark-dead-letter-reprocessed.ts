import type { SqlClient } from "../sql-client.ts";

/** Records that a dead letter became a delivery. */
export async function markDeadLetterReprocessed(sql: SqlClient, params: { id: string; deliveryId: string; now: Date }): Promise<void> {
  await sql`
    update webhook_dead_letters set reprocessed_at = ${params.now}, delivery_id = ${params.deliveryId}
    where id = ${params.id}::bigint`;
}
