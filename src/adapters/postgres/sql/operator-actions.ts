import type { OperatorAction } from "../../../ports/delivery-store.ts";
import type { SqlClient } from "../sql-client.ts";

/** A `webhook_operator_actions` row as postgres.js returns it. */
export interface OperatorActionRow {
  delivery_id: string;
  action: OperatorAction["action"];
  result: string;
  created_at: Date;
  replay_id: string | null;
}

export async function insertOperatorAction(sql: SqlClient, action: OperatorAction): Promise<void> {
  await sql`
    insert into webhook_operator_actions (delivery_id, action, result, created_at)
    values (${action.deliveryId}, ${action.action}, ${action.result}, ${action.createdAt})`;
}

/** The actions on one delivery (a valid uuid), oldest first. */
export async function listOperatorActions(sql: SqlClient, deliveryId: string): Promise<readonly OperatorActionRow[]> {
  return sql<OperatorActionRow[]>`
    select delivery_id, action, result, created_at, replay_id from webhook_operator_actions where delivery_id = ${deliveryId} order by id`;
}
