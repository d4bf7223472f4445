import type { PruneBatch } from "../../../ports/retention.ts";
import type { SqlClient } from "../sql-client.ts";

/** Deletes up to `limit` dead letters recorded before `before`, oldest id first. */
export async function pruneDeadLetters(sql: SqlClient, { before, limit }: PruneBatch): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    with doomed as (
      select id from webhook_dead_letters
      where created_at < ${before}
      order by id
      limit ${limit}
      for update skip locked
    ), deleted as (
      delete from webhook_dead_letters where id in (select id from doomed) returning 1
    )
    select count(*)::int as n from deleted`;
  return row?.n ?? 0;
}
