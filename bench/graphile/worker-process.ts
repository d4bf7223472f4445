/**
 * The child process of baseline B1: one graphile-worker runner and nothing else, so that the
 * parent can read this process's CPU time and peak RSS from /proc without counting its own work.
 *
 * The IPC protocol is ../worker-child.ts's: argv[2] is a JSON WorkerProcessConfig; "start" calls
 * graphile's run(); "succeeded" is sent once job:success has fired `events` times, "failed" on
 * each job:failed; "stop" is a graceful runner.stop(), then exit 0.
 */
import { EventEmitter } from "node:events";
import { run, type Runner, type WorkerEvents } from "graphile-worker";
import { makeAgent } from "../deliver-job.ts";
import { makeDeliverTask } from "./deliver-task.ts";
import { type GraphileSettings, TASK_IDENTIFIER, workerPreset } from "./settings.ts";

export interface WorkerProcessConfig {
  readonly connectionString: string;
  readonly settings: GraphileSettings;
  readonly events: number;
  readonly fallbackUrl: string;
  readonly fallbackSecret: string;
  readonly timeoutMs: number;
}

// Logging is graphile's default logger. Its per-job "Completed task ... with success" info line
// is off because the parent sets NO_LOG_SUCCESS=1 (the dispatcher runs at LOG_LEVEL=warn).

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerProcessConfig;
const send = (message: unknown): void => {
  process.send?.(message);
};

const agent = makeAgent();
const task = makeDeliverTask(agent, {
  fallbackUrl: config.fallbackUrl,
  fallbackSecret: config.fallbackSecret,
  timeoutMs: config.timeoutMs,
});

// Worker events are graphile's own hook for this: job:success fires once per job that succeeded.
const events: WorkerEvents = new EventEmitter();
let succeeded = 0;
let failed = 0;
events.on("job:success", () => {
  succeeded += 1;
  if (succeeded === config.events) send({ type: "succeeded" });
});
events.on("job:failed", ({ error }) => {
  failed += 1;
  send({ type: "failed", count: failed, message: error instanceof Error ? error.message : String(error) });
});

let runner: Runner | null = null;

process.on("message", (message) => {
  if (message === "start") void start();
  else if (message === "stop") void stop();
});
// If the parent dies, do not linger holding locked jobs.
process.on("disconnect", () => void stop());
send({ type: "ready" });

async function start(): Promise<void> {
  try {
    const preset = workerPreset(config.settings, config.connectionString);
    runner = await run({
      preset: { ...preset, worker: { ...preset.worker, events } },
      taskList: { [TASK_IDENTIFIER]: task },
      // The parent stops us over IPC; graphile's signal handlers would only get in the way.
      noHandleSignals: true,
    });
  } catch (error) {
    send({ type: "error", message: error instanceof Error ? error.stack : String(error) });
    process.exit(1);
  }
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await runner?.stop();
    await agent.close();
  } finally {
    process.exit(0);
  }
}
