import { makeSecret } from "../../domain/secret.ts";
import type { ClaimedDelivery, DeliveryStore, NewDelivery } from "../../ports/delivery-store.ts";
import { type AttemptRow, type DeliveryRow, toAttempt, toDelivery } from "./delivery-rows.ts";
import { isUuid, type SqlClient } from "./sql-client.ts";
import { stateAfter } from "../../domain/delivery-state.ts";

// Element type oids for postgres.js array parameters whose elements it cannot infer as text.
const BYTEA = 17;
const TIMESTAMPTZ = 1184;

interface ClaimedRow extends DeliveryRow {
  lease_token: string;
  locked_until: Date;
  job_exists: boolean;
  webhook_secret: string | null;
}

export function makeDeliveryStore(sql: SqlClient): DeliveryStore {
  return {
    async createDeliveries(rows: readonly NewDelivery[]): Promise<readonly string[]> {
      if (rows.length === 0) return [];
      // One statement whatever the batch size: each column travels as one array parameter.
      const created = await sql<{ id: string }[]>`
        insert into webhook_deliveries
          (id, webhook_id, job_id, event, url, payload, trace_id, created_at, updated_at, status, next_attempt_at, last_error)
        select id, webhook_id, job_id, event, url, payload, trace_id, created_at, created_at,
               case when rejection is null then 'pending' else 'failed' end,
               case when rejection is null then created_at end,
               rejection
        from unnest(
          ${sql.array(rows.map((r) => r.id))}::uuid[],
          ${sql.array(rows.map((r) => r.webhookId))}::text[],
          ${sql.array(rows.map((r) => r.jobId))}::uuid[],
          ${sql.array(rows.map((r) => r.event))}::text[],
          ${sql.array(rows.map((r) => r.url))}::text[],
          ${sql.array(rows.map((r) => r.payload), BYTEA)}::bytea[],
          ${sql.array(rows.map((r) => r.traceId))}::text[],
          ${sql.array(rows.map((r) => r.now), TIMESTAMPTZ)}::timestamptz[],
          ${sql.array(rows.map((r) => r.rejection))}::text[]
        ) as r(id, webhook_id, job_id, event, url, payload, trace_id, created_at, rejection)
        on conflict (job_id, event) do nothing
        returning id`;
      return created.map((row) => row.id);
    },

    async claimDueDeliveries({ now, limit, leaseMs }): Promise<readonly ClaimedDelivery[]> {
      if (limit <= 0) return [];
      const leaseExpiresAt = new Date(now.getTime() + leaseMs);
      // Moving next_attempt_at to the lease expiry takes a leased row out of the due range of
      // webhook_deliveries_due_idx; it comes back by itself when the lease expires, so there is
      // no separate sweep of expired leases.
      const rows = await sql<ClaimedRow[]>`
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
        select c.*, j.id is not null as job_exists, j.webhook_secret
        from claimed c
        left join jobs j on j.id = c.job_id
        order by c.due_at, c.id`;
      return rows.map((row) => ({
        ...toDelivery(row),
        leaseToken: row.lease_token,
        leaseExpiresAt: row.locked_until,
        secrets: !row.job_exists ? null : row.webhook_secret === null ? [] : [makeSecret(row.webhook_secret)],
      }));
    },

    async completeAttempt({ deliveryId, leaseToken, attempt, next }): Promise<boolean> {
      if (!isUuid(deliveryId) || !isUuid(leaseToken)) return false;
      const { status, nextAttemptAt, lastError } = stateAfter(next);
      const finishedAt = new Date(attempt.startedAt.getTime() + attempt.durationMs);
      // The attempt row is inserted from the update's result, so a lost lease records nothing.
      const [result] = await sql<{ matched: number }[]>`
        with updated as (
          update webhook_deliveries
          set status = ${status},
              attempts = ${attempt.attemptNumber}::int,
              last_attempt_at = ${attempt.startedAt},
              last_error = ${lastError}::text,
              next_attempt_at = ${nextAttemptAt}::timestamptz,
              locked_until = null,
              lease_token = null,
              updated_at = ${finishedAt}
          where id = ${deliveryId} and lease_token = ${leaseToken}
          returning id
        ), recorded as (
          insert into webhook_delivery_attempts
            (delivery_id, attempt_number, started_at, duration_ms, status_code, error_kind,
             error_message, response_body, location, outcome)
          select id, ${attempt.attemptNumber}::int, ${attempt.startedAt},
                 ${Math.round(attempt.durationMs)}::int, ${attempt.statusCode}::int,
                 ${attempt.errorKind}::text, ${attempt.errorMessage}::text,
                 ${attempt.responseBody}::text, ${attempt.location}::text, ${attempt.outcome}::text
          from updated
          returning delivery_id
        )
        select count(*)::int as matched from updated`;
      return result !== undefined && result.matched > 0;
    },

    async releaseLease({ deliveryId, leaseToken, now }): Promise<boolean> {
      if (!isUuid(deliveryId) || !isUuid(leaseToken)) return false;
      const released = await sql`
        update webhook_deliveries
        set next_attempt_at = ${now}, locked_until = null, lease_token = null, updated_at = ${now}
        where id = ${deliveryId} and lease_token = ${leaseToken} and status = 'pending'
        returning id`;
      return released.length > 0;
    },

    async nextDueAt(): Promise<Date | null> {
      const [row] = await sql<{ at: Date | null }[]>`
        select min(next_attempt_at) as at from webhook_deliveries where status = 'pending'`;
      return row?.at ?? null;
    },

    async getDelivery(id) {
      if (!isUuid(id)) return null;
      const [row] = await sql<DeliveryRow[]>`select * from webhook_deliveries where id = ${id}`;
      if (row === undefined) return null;
      const attempts = await sql<AttemptRow[]>`
        select * from webhook_delivery_attempts where delivery_id = ${id} order by attempt_number`;
      return { delivery: toDelivery(row), attempts: attempts.map(toAttempt) };
    },

    async listDeliveriesForJob(jobId) {
      if (!isUuid(jobId)) return [];
      const rows = await sql<DeliveryRow[]>`
        select * from webhook_deliveries where job_id = ${jobId} order by created_at, id`;
      return rows.map(toDelivery);
    },
  };
}
