import type { SqlClient } from "../sql-client.ts";

/**
 * What an operator's re-drive (one delivery, or a replay's batch) does to a row aliased `d`: pending
 * and due at `now`, with a fresh attempt budget unless it was pending already.
 */
export function redriveAssignments(sql: SqlClient, now: Date) {
  return sql`
      status = 'pending',
      next_attempt_at = ${now},
      updated_at = ${now},
      attempt_budget_start = case when d.status = 'pending' then d.attempt_budget_start else d.attempts end`;
}

/** Row `d` is not held by an attempt: a leased row is never re-driven, or it would be sent twice. */
export function notInFlight(sql: SqlClient, now: Date) {
  return sql`not (d.status = 'pending' and d.locked_until is not null and d.locked_until > ${now})`;
}
