import type { DeliveryFilter } from "../../../ports/delivery-store.ts";
import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * One page of deliveries, newest first by id. Keyset paging (`id < beforeId`) rather than an
 * offset: a page costs the same wherever it is, and rows inserted meanwhile never shift it.
 * The origin is the URL's `scheme://authority` as written, lowercased, as `urlOrigin` computes it.
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
      ${filter.status === undefined ? sql`` : sql`and status = ${filter.status}`}
      ${filter.jobId === undefined ? sql`` : sql`and job_id = ${filter.jobId}`}
      ${filter.event === undefined ? sql`` : sql`and event = ${filter.event}`}
      ${filter.origin === undefined ? sql`` : sql`and lower(substring(url from '^[^:/?#]+://[^/?#]*')) = ${filter.origin}`}
      ${filter.createdAfter === undefined ? sql`` : sql`and created_at >= ${filter.createdAfter}`}
      ${filter.createdBefore === undefined ? sql`` : sql`and created_at < ${filter.createdBefore}`}
    order by id desc
    limit ${limit}`;
}
