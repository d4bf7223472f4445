import type { ClaimedRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/**
 * Leases up to `limit` pending deliveries due at `now`, oldest due first, skipping rows other
 * workers hold, in one statement; each gets a fresh lease token and its job's secret (the
 * delivery's own when its event carried the job: there is no `jobs` row to read). Moving
 * next_attempt_at to the lease expiry takes a leased row out of the due range of
 * webhook_deliveries_due_idx; it comes back by itself when the lease expires, so there is no
 * separate sweep of expired leases.
 */
export async function claimDueDeliveries(
  sql: SqlClient,
  params: { now: Date; limit: number; leaseExpiresAt: Date },
): Promise<readonly ClaimedRow[]> {
  const { now, limit, leaseExpiresAt } = params;
  return sql<ClaimedRow[]>`
        with due as (
          select id, next_attempt_at
          from webhook_deliveries
          where status = 'pending' and next_attempt_at <= ${now}
          order by next_attempt_at
          limit ${limit}
          for update skip locked
        ), claimed as (
          update webhook_deliveries d
          set lease_token = gen_random_uuid(),
              locked_until = ${leaseExpiresAt},
              next_attempt_at = ${leaseExpiresAt},
              updated_at = ${now}
          from due
          where d.id = due.id
          returning d.*, due.next_attempt_at as due_at
        )
        select c.*, c.carried_job or j.id is not null as job_exists,
               case when c.carried_job then c.carried_secret else j.webhook_secret end as webhook_secret
        from claimed c
        left join jobs j on j.id = c.job_id
        order by c.due_at, c.id`;
}
