import { signingSecretsOf } from "../../domain/job.ts";
import type { ClaimedDelivery, CompleteAttempt, DeliveryStore, NewDelivery } from "../../ports/delivery-store.ts";
import { type AttemptRow, type DeliveryRow, toAttempt, toDelivery } from "./delivery-rows.ts";
import { secretOf } from "./job-rows.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { SqlClient } from "./sql-client.ts";
import { stateAfter } from "../../domain/next-state.ts";

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
  const store: DeliveryStore = {
    async createDeliveries(rows: readonly NewDelivery[]): Promise<readonly string[]> {
      if (rows.length === 0) return [];
      // One statement whatever the batch size: each column travels as one array parameter.
      // A row created leased is due again when its lease expires, like a claimed one.
      const leaseOf = (r: NewDelivery) => (r.rejection === null ? (r.lease ?? null) : null);
      const created = await sql<{ id: string }[]>`
        insert into webhook_deliveries
          (id, webhook_id, job_id, event, url, payload, trace_id, created_at, updated_at, status, next_attempt_at, last_error,
           lease_token, locked_until)
        select id, webhook_id, job_id, event, url, payload, trace_id, created_at, created_at,
               case when rejection is null then 'pending' else 'failed' end,
               case when rejection is null then coalesce(locked_until, created_at) end,
               rejection, lease_token, locked_until
        from unnest(
          ${sql.array(rows.map((r) => r.id))}::uuid[],
          ${sql.array(rows.map((r) => r.webhookId))}::text[],
          ${sql.array(rows.map((r) => r.jobId))}::uuid[],
          ${sql.array(rows.map((r) => r.event))}::text[],
          ${sql.array(rows.map((r) => r.url))}::text[],
          ${sql.array(rows.map((r) => r.payload), BYTEA)}::bytea[],
          ${sql.array(rows.map((r) => r.traceId))}::text[],
          ${sql.array(rows.map((r) => r.createdAt), TIMESTAMPTZ)}::timestamptz[],
          ${sql.array(rows.map((r) => r.rejection))}::text[],
          ${sql.array(rows.map((r) => leaseOf(r)?.token ?? null) as never[])}::uuid[],
          ${sql.array(rows.map((r) => leaseOf(r)?.expiresAt ?? null) as never[], TIMESTAMPTZ)}::timestamptz[]
        ) as r(id, webhook_id, job_id, event, url, payload, trace_id, created_at, rejection, lease_token, locked_until)
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
        secrets: signingSecretsOf(row.job_exists ? { webhookSecret: secretOf(row.webhook_secret) } : undefined),
      }));
    },

    async completeAttempt(item): Promise<boolean> {
      const [matched] = await store.completeAttempts([item]);
      return matched === true;
    },

    async completeAttempts(items): Promise<readonly boolean[]> {
      // A malformed id or token can hold no lease; leaving it out keeps the uuid casts safe.
      const valid = items.filter((i) => isUuid(i.deliveryId) && isUuid(i.leaseToken));
      if (valid.length === 0) return items.map(() => false);
      const states = valid.map((i) => stateAfter(i.next));
      const column = <T,>(pick: (item: CompleteAttempt, index: number) => T) => sql.array(valid.map(pick) as never[]);
      // One statement for the whole batch; each attempt row is inserted from the update's
      // result, so an item whose lease was lost records nothing.
      const updated = await sql<{ id: string }[]>`
        with input as (
          select * from unnest(
            ${column((i) => i.deliveryId)}::uuid[], ${column((i) => i.leaseToken)}::uuid[],
            ${column((_i, n) => states[n]!.status)}::text[], ${column((_i, n) => states[n]!.lastError)}::text[],
            ${sql.array(states.map((st) => st.nextAttemptAt) as never[], TIMESTAMPTZ)}::timestamptz[],
            ${column((i) => i.attempt.attemptNumber)}::int[],
            ${sql.array(valid.map((i) => i.attempt.startedAt) as never[], TIMESTAMPTZ)}::timestamptz[],
            ${column((i) => Math.round(i.attempt.durationMs))}::int[], ${column((i) => i.attempt.statusCode)}::int[],
            ${column((i) => i.attempt.errorKind)}::text[], ${column((i) => i.attempt.errorMessage)}::text[],
            ${column((i) => i.attempt.responseBody)}::text[], ${column((i) => i.attempt.location)}::text[],
            ${column((i) => i.attempt.outcome)}::text[]
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
      const matched = new Set(updated.map((row) => row.id));
      return items.map((i) => isUuid(i.deliveryId) && isUuid(i.leaseToken) && matched.has(i.deliveryId.toLowerCase()));
    },

    async releaseLeases({ leases, now }): Promise<readonly boolean[]> {
      // A malformed id or token can hold no lease; leaving it out keeps the uuid casts safe.
      const valid = leases.filter((l) => isUuid(l.deliveryId) && isUuid(l.leaseToken));
      if (valid.length === 0) return leases.map(() => false);
      const released = await sql<{ id: string }[]>`
        update webhook_deliveries d
        set next_attempt_at = l.due_at, locked_until = null, lease_token = null, updated_at = ${now}
        from unnest(
          ${sql.array(valid.map((l) => l.deliveryId))}::uuid[], ${sql.array(valid.map((l) => l.leaseToken))}::uuid[],
          ${sql.array(valid.map((l) => l.dueAt ?? now) as never[], TIMESTAMPTZ)}::timestamptz[]
        ) as l(id, token, due_at)
        where d.id = l.id and d.lease_token = l.token and d.status = 'pending'
        returning d.id`;
      const matched = new Set(released.map((row) => row.id));
      return leases.map((l) => isUuid(l.deliveryId) && isUuid(l.leaseToken) && matched.has(l.deliveryId.toLowerCase()));
    },

    async nextDueAt(): Promise<Date | null> {
      const [row] = await sql<{ at: Date | null }[]>`
        select min(next_attempt_at) as at from webhook_deliveries where status = 'pending'`;
      return row?.at ?? null;
    },

    async countDue({ now, atMost }) {
      if (atMost <= 0) return 0;
      // Reads at most `atMost` entries of webhook_deliveries_due_idx (leased rows are not in its due range).
      const [row] = await sql<{ due: number }[]>`
        select count(*)::int as due from (
          select 1 from webhook_deliveries where status = 'pending' and next_attempt_at <= ${now} limit ${atMost}
        ) as d`;
      return row?.due ?? 0;
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
  return store;
}
