import type { AttemptOutcome } from "../domain/delivery.ts";
import type { FailureReason, StatusClass } from "../domain/metric-labels.ts";
import type { DeadLetter } from "./dead-letters.ts";

/** How a delivery ended: sent, or failed for a reason (`rejected`: failed at intake, never attempted; `cancelled`: by an operator). */
export type DeliveryEnd =
  | { readonly outcome: "sent" }
  | { readonly outcome: "failed"; readonly reason: FailureReason | "rejected" | "cancelled" };

/** How far a consumer group is behind on one partition: messages not yet committed. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/** Which table a prune deleted from. */
export type PrunedTable = "deliveries" | "outbox" | "dead_letters";

/**
 * What the dispatcher counts as it works, each call after the fact it reports is durable (the
 * attempt recorded, the transaction committed). Label values come from small fixed sets.
 */
export interface Metrics {
  /** One attempt was recorded; `durationSeconds` is the exchange with the receiver. */
  attemptRecorded(attempt: { readonly outcome: AttemptOutcome; readonly statusClass: StatusClass; readonly durationSeconds: number }): void;
  /**
   * A delivery reached its final state. `attempts` (all it made) and `latencySeconds` (from the
   * event's acceptance to the final attempt) are absent when no attempt ended it.
   */
  deliveryEnded(end: DeliveryEnd, made?: { readonly attempts: number; readonly latencySeconds: number }): void;
  /** Events were dead-lettered: `reasonCode` is the reason's code (`unknown_job`, …). */
  deadLettered(source: DeadLetter["source"], reasonCode: string, count: number): void;
  /** Rows were deleted by retention. */
  rowsPruned(table: PrunedTable, count: number): void;
}

/** Counts nothing, so callers never write `if (metrics)`. */
export const noopMetrics: Metrics = {
  attemptRecorded() {},
  deliveryEnded() {},
  deadLettered() {},
  rowsPruned() {},
};
