/**
 * The child process of baseline B2: one BullMQ Worker and nothing else, so that the parent can
 * read this process's CPU time and peak RSS from /proc without counting its own work.
 *
 * The IPC protocol is ../worker-child.ts's: argv[2] is a JSON WorkerProcessConfig. The Worker is
 * built with autorun off and its Redis connection ready before "ready" (as the dispatcher is
 * timed from ready); "start" calls worker.run(); "succeeded" is sent once `completed` has fired
 * `events` times, "failed" on each failed attempt; "stop" closes the worker, then exit 0.
 */
import { Worker } from "bullmq";
import pg from "pg";
import { deliverJob, makeAgent } from "../deliver-job.ts";
import { CONCURRENCY } from "./settings.ts";

export interface WorkerProcessConfig {
  readonly redis: { readonly host: string; readonly port: number };
  readonly prefix: string;
  readonly queueName: string;
  readonly databaseUrl: string;
  readonly events: number;
  readonly fallbackUrl: string;
  readonly fallbackSecret: string;
  readonly timeoutMs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerProcessConfig;
const send = (message: unknown): void => {
  process.send?.(message);
};

const agent = makeAgent();
// One connection per job in flight: each job's read and attempt insert never wait for a client.
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: CONCURRENCY });
const options = { fallbackUrl: config.fallbackUrl, fallbackSecret: config.fallbackSecret, timeoutMs: config.timeoutMs };

const worker = new Worker<{ job_id: string }>(
  config.queueName,
  (job) => deliverJob((query) => pool.query(query), agent, job.data.job_id, options),
  // maxRetriesPerRequest null: what BullMQ requires of a Worker's connection.
  { connection: { ...config.redis, maxRetriesPerRequest: null }, prefix: config.prefix, concurrency: CONCURRENCY, autorun: false },
);

let succeeded = 0;
let failed = 0;
worker.on("completed", () => {
  succeeded += 1;
  if (succeeded === config.events) send({ type: "succeeded" });
});
worker.on("failed", (_job, error) => {
  failed += 1;
  send({ type: "failed", count: failed, message: error.message });
});
// A connection error is BullMQ's to recover from (it reconnects); a drain that stops shows as a stall.
worker.on("error", (error) => console.error(`B2 worker: ${error.message}`));
pool.on("error", (error) => console.error(`B2 worker, idle Postgres client: ${error.message}`));

process.on("message", (message) => {
  if (message === "start") void start();
  else if (message === "stop") void stop();
});
// If the parent dies, do not linger holding locked jobs.
process.on("disconnect", () => void stop());

await worker.waitUntilReady();
send({ type: "ready" });

async function start(): Promise<void> {
  try {
    await worker.run();
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
    await worker.close();
    await pool.end();
    await agent.close();
  } finally {
    process.exit(0);
  }
}
