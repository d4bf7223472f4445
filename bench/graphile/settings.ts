/**
 * The graphile-worker configurations of baseline B1. Values checked against the installed
 * graphile-worker 0.17.3 (`dist/config.js` makeWorkerPresetWorkerOptions, `dist/main.js`, and the
 * option docs in `dist/index.d.ts`) and https://worker.graphile.org/docs/performance.
 */
import type {} from "graphile-worker"; // brings the GraphileConfig.Preset augmentation into scope

export type GraphileSettings = "default" | "default64" | "batched";

export const TASK_IDENTIFIER = "bench_deliver_webhook";

// The dispatcher's DISPATCH_CONCURRENCY in the benchmark: the same requests in flight.
const CONCURRENCY = 64;
// maxPoolSize's doc comment: "10 or concurrentJobs + 2, whichever is larger".
const POOL_SIZE = CONCURRENCY + 2;

/** What each setting changes from graphile-worker's defaults, for the results next to each number. */
export const GRAPHILE_SETTINGS_LABEL: Readonly<Record<GraphileSettings, string>> = {
  default: "concurrentJobs 1, all settings default",
  default64: `concurrentJobs ${CONCURRENCY}, maxPoolSize ${POOL_SIZE}, other settings default`,
  batched:
    `concurrentJobs ${CONCURRENCY}, maxPoolSize ${POOL_SIZE}, localQueue.size 500, completeJobBatchDelay 0, ` +
    "failJobBatchDelay 0, pollInterval 100 ms, useNodeTime true, other settings default",
};

/**
 * "default": only the connection string (and the schema's default name), so every other value
 * is graphile-worker's own default (WorkerPreset), which in 0.17.3 is:
 *   concurrentJobs 1, pollInterval 2000 ms, maxPoolSize 10, preparedStatements true,
 *   useNodeTime false, localQueue off (size -1), completeJobBatchDelay -1 and
 *   failJobBatchDelay -1 (one statement per completed / failed job), getQueueNameBatchDelay 50 ms.
 * With a backlog the worker fetches its next job as soon as one finishes, so pollInterval only
 * matters at start-up; the rate is bounded by concurrency 1: one job at a time, each paying a
 * get_job, the task's two queries, one HTTP round trip and a complete_job. No team sending
 * webhooks runs this; it stays as a row, not as a target.
 *
 * "default64": the smallest change a team would make: concurrentJobs 64 and maxPoolSize 66 (the
 * task's own two queries per job use this pool too), every other value as in "default" — each
 * job still pays its own get_job and complete_job.
 *
 * "batched": what a team tuning for throughput would set, following the docs' performance page
 * (which uses localQueue.size 500 and completeJobBatchDelay / failJobBatchDelay 0): the
 * concurrency and pool of "default64", plus
 *   pollInterval 100 ms, useNodeTime true (no now() round trips for run_at comparisons),
 *   preparedStatements true (already the default), localQueue.size 500 (one locked fetch per
 *   500 jobs instead of one get_job per job), completeJobBatchDelay 0 and failJobBatchDelay 0
 *   (completions collected within one tick are deleted by one statement).
 */
export function workerPreset(settings: GraphileSettings, connectionString: string): GraphileConfig.Preset {
  // The schema is named only so a GRAPHILE_WORKER_SCHEMA variable cannot move it (it is the default).
  const base = { connectionString, schema: "graphile_worker" };
  if (settings === "default") return { worker: base };
  if (settings === "default64") return { worker: { ...base, concurrentJobs: CONCURRENCY, maxPoolSize: POOL_SIZE } };
  return {
    worker: {
      ...base,
      concurrentJobs: CONCURRENCY,
      maxPoolSize: POOL_SIZE,
      pollInterval: 100,
      useNodeTime: true,
      preparedStatements: true,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  };
}
