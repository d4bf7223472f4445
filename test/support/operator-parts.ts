import { uuidV7 } from "../../src/adapters/uuid-v7.ts";
import { reprocessDeadLetter } from "../../src/app/reprocess-dead-letter.ts";
import type { RunInTransaction } from "../../src/ports/transactor.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { createPrometheusMetrics } from "../../src/adapters/metrics/prometheus-metrics.ts";

/**
 * The admin API options that come from the app, as the dispatcher wires them: replay ids, and
 * dead letters reprocessed through the real intake (1 MiB payload limit), and `/metrics` (open).
 * The callbacks count their calls.
 */
export function operatorParts(db: { readonly transaction: RunInTransaction }) {
  const calls = { replaysCreated: 0, schedulerWakes: 0 };
  const accept = { newId: () => uuidV7(), now: () => new Date(), logger: noopLogger, bodyLimits: { maxPayloadBytes: 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024 } };
  return {
    calls,
    newId: () => uuidV7(),
    metrics: createPrometheusMetrics({ logger: noopLogger }),
    onReplayCreated: () => void calls.replaysCreated++,
    reprocessDeadLetter: (id: string) => reprocessDeadLetter({ transaction: db.transaction, accept, wakeScheduler: () => void calls.schedulerWakes++ }, id),
  };
}
