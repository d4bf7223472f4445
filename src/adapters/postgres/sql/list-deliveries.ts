import type { DeliveryFilter } from "../../../ports/delivery-store.ts";
import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";
import { deliveryConditions } from "./delivery-filter.ts";

/**
 * One page of deliveries, newest first by id. Keyset paging (`id < beforeId`) rather than an
 * offset: a page costs the same wherever it is, and rows inserted meanwhile never shift it.
 * `jobId` and `beforeId` must be valid uuids.
 */
export async function listDeliveries(
  sql: SqlClient,
  params: { filter: DeliveryFilter; limit: number; beforeId?: string },
): Promise<readonly DeliveryRow[]> {
  const { filter, limit, beforeId } = params;
  return sql<DeliveryRow[]>`
    select * from webhook_deliveries
    where true
      ${beforeId === undefined ? sql`` : sql`and id < ${beforeId}`}
      ${deliveryConditions(sql, filter)}
    order by id desc
    limit ${limit}`;
}
