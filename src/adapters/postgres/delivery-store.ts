import { stateAfter } from "../../domain/next-state.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { DeliveryStore, LeaseRef } from "../../ports/delivery-store.ts";
import { type DeliveryRow, toAttempt, toClaimedDelivery, toDelivery, toOperatorAction } from "./delivery-rows.ts";
import { cancelDelivery } from "./sql/cancel-delivery.ts";
import { claimDueDeliveries } from "./sql/claim-due-deliveries.ts";
import { completeAttempts } from "./sql/complete-attempts.ts";
import { getDelivery } from "./sql/get-delivery.ts";
import { insertDeliveries } from "./sql/insert-deliveries.ts";
import { listAttempts } from "./sql/list-attempts.ts";
import { listDeliveries } from "./sql/list-deliveries.ts";
import { listDeliveriesForJob } from "./sql/list-deliveries-for-job.ts";
import { nextDueAt } from "./sql/next-due-at.ts";
import { insertOperatorAction, listOperatorActions } from "./sql/operator-actions.ts";
import { redriveDelivery } from "./sql/redrive-delivery.ts";
import { releaseLeases } from "./sql/release-leases.ts";
import type { SqlClient } from "./sql-client.ts";

/** A malformed id or token can hold no lease; leaving it out keeps the statements' uuid casts safe. */
const canHoldLease = (lease: LeaseRef) => isUuid(lease.deliveryId) && isUuid(lease.leaseToken);

/** The DeliveryStore port over Postgres: each method is one statement of `./sql/` (two for getDelivery). */
export function makeDeliveryStore(sql: SqlClient): DeliveryStore {
  const store: DeliveryStore = {
    async createDeliveries(rows) {
      return rows.length === 0 ? [] : insertDeliveries(sql, rows);
    },

    async claimDueDeliveries({ now, limit, leaseMs }) {
      if (limit <= 0) return [];
      const rows = await claimDueDeliveries(sql, { now, limit, leaseExpiresAt: new Date(now.getTime() + leaseMs) });
      return rows.map(toClaimedDelivery);
    },

    async completeAttempt(item) {
      const [matched] = await store.completeAttempts([item]);
      return matched === true;
    },

    async completeAttempts(items) {
      const valid = items.filter(canHoldLease);
      if (valid.length === 0) return items.map(() => false);
      const ids = await completeAttempts(sql, valid.map((item) => ({ ...item, state: stateAfter(item.next) })));
      const matched = new Set(ids);
      return items.map((i) => canHoldLease(i) && matched.has(i.deliveryId.toLowerCase()));
    },

    async releaseLeases({ leases, now }) {
      const valid = leases.filter(canHoldLease);
      if (valid.length === 0) return leases.map(() => false);
      const matched = new Set(await releaseLeases(sql, { leases: valid, now }));
      return leases.map((l) => canHoldLease(l) && matched.has(l.deliveryId.toLowerCase()));
    },

    nextDueAt: () => nextDueAt(sql),

    async getDelivery(id) {
      if (!isUuid(id)) return null;
      const row = await getDelivery(sql, id);
      if (row === undefined) return null;
      const attempts = await listAttempts(sql, id);
      const actions = await listOperatorActions(sql, id);
      return { delivery: toDelivery(row), attempts: attempts.map(toAttempt), actions: actions.map(toOperatorAction) };
    },

    ...operatorMethods(sql),

    async listDeliveries({ filter, limit, beforeId }) {
      if (limit <= 0) return [];
      if (filter.jobId !== undefined && !isUuid(filter.jobId)) return [];
      if (beforeId !== undefined && !isUuid(beforeId)) return [];
      return (await listDeliveries(sql, { filter, limit, beforeId })).map(toDelivery);
    },

    async listDeliveriesForJob(jobId) {
      return isUuid(jobId) ? (await listDeliveriesForJob(sql, jobId)).map(toDelivery) : [];
    },
  };
  return store;
}

/** An operator's retry and cancel, and the record of what operators did. */
function operatorMethods(sql: SqlClient): Pick<DeliveryStore, "redriveDelivery" | "cancelDelivery" | "recordOperatorAction"> {
  return {
    async redriveDelivery(params) {
      const row = isUuid(params.id) ? await redriveDelivery(sql, params) : undefined;
      if (row === undefined) return { outcome: "not_found", delivery: null };
      if (row.id !== null && row.id !== undefined) return { outcome: "redriven", delivery: toDelivery(row as DeliveryRow) };
      return { outcome: row.leased_before ? "in_flight" : "already_sent", delivery: null };
    },

    async cancelDelivery(params) {
      const row = isUuid(params.id) ? await cancelDelivery(sql, params) : undefined;
      if (row === undefined) return { outcome: "not_found", delivery: null };
      if (row.id !== null && row.id !== undefined) return { outcome: "cancelled", delivery: toDelivery(row as DeliveryRow) };
      return { outcome: "not_pending", delivery: null };
    },

    recordOperatorAction: (action) => insertOperatorAction(sql, action),
  };
}
