import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** The delivery rows of one job (a valid uuid), oldest first; the id breaks ties so the order is stable. */
export async function listDeliveriesForJob(sql: SqlClient, jobId: string): Promise<readonly DeliveryRow[]> {
  return sql<DeliveryRow[]>`
        select * from webhook_deliveries where job_id = ${jobId} order by created_at, id`;
}
