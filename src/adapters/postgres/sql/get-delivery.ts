import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** One delivery row by id (a valid uuid), or undefined. */
export async function getDelivery(sql: SqlClient, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow[]>`select * from webhook_deliveries where id = ${id}`;
  return row;
}
