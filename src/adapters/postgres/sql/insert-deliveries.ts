import type { NewDelivery } from "../../../ports/delivery-store.ts";
import { BYTEA, type SqlClient, TIMESTAMPTZ } from "../sql-client.ts";

/**
 * Inserts `rows` in one statement whatever the batch size: each column travels as one array
 * parameter. A row created leased is due again when its lease expires, like a claimed one; a
 * rejected row is stored failed and never leased. A row of a carried job keeps its secret.
 * Returns the ids of the rows it created.
 */
export async function insertDeliveries(sql: SqlClient, rows: readonly NewDelivery[]): Promise<readonly string[]> {
  const leaseOf = (r: NewDelivery) => (r.rejection === null ? (r.lease ?? null) : null);
  const created = await sql<{ id: string }[]>`
        insert into webhook_deliveries
          (id, webhook_id, job_id, event, url, payload, trace_id, created_at, updated_at, status, next_attempt_at, last_error,
           lease_token, locked_until, carried_job, carried_secret)
        select id, webhook_id, job_id, event, url, payload, trace_id, created_at, created_at,
               case when rejection is null then 'pending' else 'failed' end,
               case when rejection is null then coalesce(locked_until, created_at) end,
               rejection, lease_token, locked_until, carried_job, carried_secret
        from unnest(
          ${sql.array(rows.map((r) => r.id))}::uuid[],
          ${sql.array(rows.map((r) => r.webhookId))}::text[],
          ${sql.array(rows.map((r) => r.jobId))}::uuid[],
          ${sql.array(rows.map((r) => r.event))}::text[],
          ${sql.array(rows.map((r) => r.url))}::text[],
          ${sql.array(rows.map((r) => r.payload), BYTEA)}::bytea[],
          ${sql.array(rows.map((r) => r.traceId))}::text[],
          ${sql.array(rows.map((r) => r.createdAt), TIMESTAMPTZ)}::timestamptz[],
          ${sql.array(rows.map((r) => r.rejection))}::text[],
          ${sql.array(rows.map((r) => leaseOf(r)?.token ?? null) as never[])}::uuid[],
          ${sql.array(rows.map((r) => leaseOf(r)?.expiresAt ?? null) as never[], TIMESTAMPTZ)}::timestamptz[],
          ${sql.array(rows.map((r) => r.carriedJob != null))}::boolean[],
          ${sql.array(rows.map((r) => r.carriedJob?.secret?.reveal() ?? null))}::text[]
        ) as r(id, webhook_id, job_id, event, url, payload, trace_id, created_at, rejection, lease_token, locked_until,
               carried_job, carried_secret)
        on conflict (job_id, event) do nothing
        returning id`;
  return created.map((row) => row.id);
}
