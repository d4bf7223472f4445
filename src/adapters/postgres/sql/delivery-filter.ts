import type { DeliveryFilter } from "../../../ports/delivery-store.ts";
import type { SqlClient } from "../sql-client.ts";

/** A delivery filter, with several job ids allowed (a replay's). Every field narrows. */
export type DeliveryConditions = DeliveryFilter & { readonly jobIds?: readonly string[] };

/**
 * The `and …` conditions of a delivery filter, for a `where` over `webhook_deliveries`. The
 * origin is the URL's `scheme://authority` as written, lowercased, as `urlOrigin` computes it.
 * Job ids must be valid uuids.
 */
export function deliveryConditions(sql: SqlClient, filter: DeliveryConditions) {
  return sql`
    ${filter.status === undefined ? sql`` : sql`and status = ${filter.status}`}
    ${filter.jobId === undefined ? sql`` : sql`and job_id = ${filter.jobId}`}
    ${filter.jobIds === undefined ? sql`` : sql`and job_id = any(${sql.array(filter.jobIds as string[])}::uuid[])`}
    ${filter.event === undefined ? sql`` : sql`and event = ${filter.event}`}
    ${filter.origin === undefined ? sql`` : sql`and lower(substring(url from '^[^:/?#]+://[^/?#]*')) = ${filter.origin}`}
    ${filter.createdAfter === undefined ? sql`` : sql`and created_at >= ${filter.createdAfter}`}
    ${filter.createdBefore === undefined ? sql`` : sql`and created_at < ${filter.createdBefore}`}`;
}
