/**
 * The two graphile-worker configurations of baseline B1. Values checked against the installed
 * graphile-worker 0.17.3 (`dist/config.js` makeWorkerPresetWorkerOptions, `dist/main.js`, and the
 * option docs in `dist/index.d.ts`) and https://worker.graphile.org/docs/performance.
 */
import type {} from "graphile-worker"; // brings the GraphileConfig.Preset augmentation into scope

export type GraphileSettings = "default" | "batched";

export const TASK_IDENTIFIER = "bench_deliver_webhook";

/**
 * "default": only the connection string (and the schema's default name), so every other value
 * is graphile-worker's own default (WorkerPreset), which in 0.17.3 is:
 *   concurrentJobs 1, pollInterval 2000 ms, maxPoolSize 10, preparedStatements true,
 *   useNodeTime false, localQueue off (size -1), completeJobBatchDelay -1 and
 *   failJobBatchDelay -1 (one statement per completed / failed job), getQueueNameBatchDelay 50 ms.
 * With a backlog the worker fetches its next job as soon as one finishes, so pollInterval only
 * matters at start-up; the rate is bounded by concurrency 1: one job at a time, each paying a
 * get_job, the task's two queries, one HTTP round trip and a complete_job.
 *
 * "batched": what a team tuning for throughput would set, following the docs' performance page
 * (which uses localQueue.size 500 and completeJobBatchDelay / failJobBatchDelay 0):
 *   concurrentJobs 64 (the same request concurrency as the dispatcher's sender),
 *   maxPoolSize 66 (the docs' advice: concurrentJobs + 2 when larger than 10; the task's own two
 *     queries per job use this pool too),
 *   pollInterval 100 ms, useNodeTime true (no now() round trips for run_at comparisons),
 *   preparedStatements true (already the default), localQueue.size 500 (one locked fetch per
 *   500 jobs instead of one get_job per job), completeJobBatchDelay 0 and failJobBatchDelay 0
 *   (completions collected within one tick are deleted by one statement).
 */
export function workerPreset(settings: GraphileSettings, connectionString: string): GraphileConfig.Preset {
  // The schema is named only so a GRAPHILE_WORKER_SCHEMA variable cannot move it (it is the default).
  if (settings === "default") return { worker: { connectionString, schema: "graphile_worker" } };
  return {
    worker: {
      connectionString,
      schema: "graphile_worker",
      concurrentJobs: BATCHED_CONCURRENCY,
      maxPoolSize: BATCHED_CONCURRENCY + 2,
      pollInterval: 100,
      useNodeTime: true,
      preparedStatements: true,
      localQueue: { size: 500 },
      completeJobBatchDelay: 0,
      failJobBatchDelay: 0,
    },
  };
}

export const BATCHED_CONCURRENCY = 64;
