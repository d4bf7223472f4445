import type { PruneBatch } from "../../../ports/retention.ts";
import type { SqlClient } from "../sql-client.ts";

/** Deletes up to `limit` outbox rows processed before `before`, oldest id first (they are the oldest rows). */
export async function pruneOutbox(sql: SqlClient, { before, limit }: PruneBatch): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    with doomed as (
      select id from webhook_outbox
      where processed_at is not null and processed_at < ${before}
      order by id
      limit ${limit}
      for update skip locked
    ), deleted as (
      delete from webhook_outbox where id in (select id from doomed) returning 1
    )
    select count(*)::int as n from deleted`;
  return row?.n ?? 0;
}
