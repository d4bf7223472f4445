import type { Delivery, DeliveryAttempt } from "../../../domain/delivery.ts";
import { type SqlClient, TIMESTAMPTZ } from "../sql-client.ts";

/** One completion as the statement writes it: the lease it is fenced by, the attempt row and the delivery's new columns. */
export interface AttemptCompletion {
  readonly deliveryId: string;
  readonly leaseToken: string;
  readonly attempt: DeliveryAttempt;
  readonly state: Pick<Delivery, "status" | "nextAttemptAt" | "lastError">;
}

/**
 * Records the attempts and moves their deliveries on, for the whole batch in one statement. Each
 * attempt row is inserted from the update's result, so an item whose lease was lost (its token
 * no longer matches) records nothing. Returns the ids whose lease held. Ids and tokens must be
 * valid uuids: the casts would fail the whole batch otherwise.
 */
export async function completeAttempts(sql: SqlClient, completions: readonly AttemptCompletion[]): Promise<readonly string[]> {
  const column = <T,>(pick: (completion: AttemptCompletion) => T) => sql.array(completions.map(pick) as never[]);
  const updated = await sql<{ id: string }[]>`
        with input as (
          select * from unnest(
            ${column((c) => c.deliveryId)}::uuid[], ${column((c) => c.leaseToken)}::uuid[],
            ${column((c) => c.state.status)}::text[], ${column((c) => c.state.lastError)}::text[],
            ${sql.array(completions.map((c) => c.state.nextAttemptAt) as never[], TIMESTAMPTZ)}::timestamptz[],
            ${column((c) => c.attempt.attemptNumber)}::int[],
            ${sql.array(completions.map((c) => c.attempt.startedAt) as never[], TIMESTAMPTZ)}::timestamptz[],
            ${column((c) => Math.round(c.attempt.durationMs))}::int[], ${column((c) => c.attempt.statusCode)}::int[],
            ${column((c) => c.attempt.errorKind)}::text[], ${column((c) => c.attempt.errorMessage)}::text[],
            ${column((c) => c.attempt.responseBody)}::text[], ${column((c) => c.attempt.location)}::text[],
            ${column((c) => c.attempt.outcome)}::text[]
          ) as i(id, token, status, last_error, next_attempt_at, attempt_number, started_at, duration_ms,
                 status_code, error_kind, error_message, response_body, location, outcome)
        ), updated as (
          update webhook_deliveries d
          set status = i.status,
              attempts = i.attempt_number,
              last_attempt_at = i.started_at,
              last_error = i.last_error,
              next_attempt_at = i.next_attempt_at,
              locked_until = null,
              lease_token = null,
              updated_at = i.started_at + make_interval(secs => i.duration_ms / 1000.0)
          from input i
          where d.id = i.id and d.lease_token = i.token
          returning d.id
        ), recorded as (
          insert into webhook_delivery_attempts
            (delivery_id, attempt_number, started_at, duration_ms, status_code, error_kind,
             error_message, response_body, location, outcome)
          select i.id, i.attempt_number, i.started_at, i.duration_ms, i.status_code, i.error_kind,
                 i.error_message, i.response_body, i.location, i.outcome
          from input i join updated u on u.id = i.id
        )
        select id from updated`;
  return updated.map((row) => row.id);
}
