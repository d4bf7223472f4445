import type { AttemptRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** The attempt rows of one delivery (a valid uuid), in attempt order. */
export async function listAttempts(sql: SqlClient, deliveryId: string): Promise<readonly AttemptRow[]> {
  return sql<AttemptRow[]>`
        select * from webhook_delivery_attempts where delivery_id = ${deliveryId} order by attempt_number`;
}
