import type { LeaseRelease } from "../../../ports/delivery-store.ts";
import { type SqlClient, TIMESTAMPTZ } from "../sql-client.ts";

/**
 * Gives leases back without an attempt, in one statement: each pending delivery whose token
 * still matches is due again at its `dueAt`, or at `now`. Returns the ids released. Ids and
 * tokens must be valid uuids: the casts would fail the whole batch otherwise.
 */
export async function releaseLeases(sql: SqlClient, params: { leases: readonly LeaseRelease[]; now: Date }): Promise<readonly string[]> {
  const { leases, now } = params;
  const released = await sql<{ id: string }[]>`
        update webhook_deliveries d
        set next_attempt_at = l.due_at, locked_until = null, lease_token = null, updated_at = ${now}
        from unnest(
          ${sql.array(leases.map((l) => l.deliveryId))}::uuid[], ${sql.array(leases.map((l) => l.leaseToken))}::uuid[],
          ${sql.array(leases.map((l) => l.dueAt ?? now) as never[], TIMESTAMPTZ)}::timestamptz[]
        ) as l(id, token, due_at)
        where d.id = l.id and d.lease_token = l.token and d.status = 'pending'
        returning d.id`;
  return released.map((row) => row.id);
}
