import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";

/** The row's status before (`status_before`) and, when it changed, the row after (null columns otherwise). */
export type CancelRow = Partial<DeliveryRow> & { status_before: string };

/**
 * An operator's cancel in one statement. Dropping the lease is what makes it final: an attempt in
 * flight completes with a token that no longer matches, so it changes nothing afterwards.
 */
export async function cancelDelivery(sql: SqlClient, params: { id: string; now: Date }): Promise<CancelRow | undefined> {
  const { id, now } = params;
  const [row] = await sql<CancelRow[]>`
    with changed as (
      update webhook_deliveries
      set status = 'failed', next_attempt_at = null, last_error = 'cancelled',
          lease_token = null, locked_until = null, updated_at = ${now}
      where id = ${id} and status = 'pending'
      returning *
    )
    select before.status as status_before, changed.*
    from webhook_deliveries before
    left join changed on changed.id = before.id
    where before.id = ${id}`;
  return row;
}
