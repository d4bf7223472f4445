import type { DeliveryRow } from "../delivery-rows.ts";
import type { SqlClient } from "../sql-client.ts";
import { notInFlight, redriveAssignments } from "./redrive-fragments.ts";

/** The row before (`status_before`, `leased_before`) and, when it changed, after (the other columns; null otherwise). */
export type RedriveRow = Partial<DeliveryRow> & { status_before: string; leased_before: boolean };

/**
 * An operator's retry in one statement. A leased row (an attempt in flight, or waiting for its
 * destination) is left alone: taking its lease away would send it twice. The outer select reads
 * the snapshot from before the update, so it reports what the row was.
 */
export async function redriveDelivery(sql: SqlClient, params: { id: string; now: Date; resend: boolean }): Promise<RedriveRow | undefined> {
  const { id, now, resend } = params;
  const [row] = await sql<RedriveRow[]>`
    with changed as (
      update webhook_deliveries d
      set ${redriveAssignments(sql, now)}
      where d.id = ${id}
        and (d.status <> 'sent' or ${resend}::boolean)
        and ${notInFlight(sql, now)}
      returning d.*
    )
    select before.status as status_before,
           (before.status = 'pending' and before.locked_until is not null and before.locked_until > ${now}) as leased_before,
           changed.*
    from webhook_deliveries before
    left join changed on changed.id = before.id
    where before.id = ${id}`;
  return row;
}
