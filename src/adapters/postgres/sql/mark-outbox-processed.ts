import type { SqlClient } from "../sql-client.ts";

/** Marks outbox rows processed at `now`; ids are bigints as text. */
export async function markOutboxProcessed(sql: SqlClient, params: { ids: readonly string[]; now: Date }): Promise<void> {
  const { ids, now } = params;
  await sql`
        update webhook_outbox set processed_at = ${now}
        where id = any(${sql.array([...ids])}::bigint[])`;
}
