/**
 * Baseline B2: BullMQ on the machine's Redis doing the same per-job work as B1 and the
 * dispatcher (../deliver-job.ts: read the job row from Postgres, sign, POST to the same receiver,
 * insert the attempt row), in a worker process of its own at concurrency 64. Measures the drain
 * of a backlog of `events` jobs, like B1 and S1(a).
 *
 * Not measured: the job rows, and enqueueing one BullMQ job per row (payload: the job id) with
 * Queue.addBulk, before the worker starts. Measured: from "start" (worker.run()) until the queue
 * holds none of the jobs (waiting, active, delayed or prioritized); every job is removed on
 * success, so that is the last completion, after the last receipt. Reported apart: the worker
 * process's CPU and peak RSS, redis-server's CPU (its reaped forks included) and the Postgres
 * backends' CPU over the drain.
 *
 * Two ways Redis runs: "as-running", the machine's Redis untouched (today without persistence:
 * the run records what CONFIG GET said), and "aof-everysec", with appendonly yes and appendfsync
 * everysec for the run, put back afterwards.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { backendCpuGrowth, backendCpuMicros, createDatabase, insertJobs } from "../database.ts";
import { createAttemptsTable, successfulAttempts } from "../deliver-job.ts";
import { drainDeadlineMs, repeat, type BenchContext } from "../drain.ts";
import type { WorkerProcessConfig } from "../bullmq/worker-process.ts";
import { connectRedis, deleteKeys, enableAofEverysec, redisAddress, redisCpuMicros, redisInfo, redisPersistence, type RedisAddress } from "../bullmq/redis-server.ts";
import { JOB_NAME, jobOptions, QUEUE_NAME } from "../bullmq/settings.ts";
import type { Scope } from "../scope.ts";
import { statusKilobytes } from "../proc-stats.ts";
import { spawnWorkerChild, timeDrain } from "../worker-child.ts";
import { warmUpEvents } from "./s1-throughput.ts";

export type RedisPersistenceMode = "as-running" | "aof-everysec";

export interface BullmqResult {
  readonly drainMs: number;
  readonly eventsPerSecond: number;
  /** The worker process's CPU over the drain, µs per job. */
  readonly cpuUsPerDelivery: number;
  readonly peakRssBytes: number;
  /** redis-server's CPU over the drain (threads and reaped forks), µs per job. */
  readonly redisCpuUsPerDelivery: number;
  /** Commands redis-server ran over the drain per job (the benchmark's own few polls included). */
  readonly redisCommandsPerDelivery: number;
  /** redis-server's RSS with the backlog enqueued, when the worker starts. */
  readonly redisRssBytes: number;
  /** AOF rewrites redis-server started during the drain (0 without AOF). */
  readonly aofRewrites: number;
  readonly postgresCpuUsPerDelivery: number;
  readonly jobsReceived: number;
  readonly signatureFailures: number;
  /** What CONFIG GET said during the run, and the server's version. */
  readonly redisVersion: string;
  readonly appendonly: string;
  readonly appendfsync: string;
  readonly save: string;
}

const WORKER_FILE = fileURLToPath(new URL("../bullmq/worker-process.ts", import.meta.url));
// The dispatcher's WEBHOOK_TIMEOUT default.
const DEADLINE_MS = 30_000;
// Jobs per addBulk call: one MULTI of this many adds keeps each round trip and reply small.
const ENQUEUE_CHUNK = 1_000;

export async function runBullmqBaseline(ctx: BenchContext, mode: RedisPersistenceMode): Promise<BullmqResult[]> {
  const address = redisAddress(process.env);
  return repeat(ctx, `B2 BullMQ (Redis ${mode})`, drainDeadlineMs(ctx.events) * 4, async (scope, kind) => {
    const events = kind === "warm-up" ? warmUpEvents(ctx.events) : ctx.events;
    const redis = connectRedis(address, scope);
    if (mode === "aof-everysec") await enableAofEverysec(redis, scope);
    return drainOnce(ctx, scope, { redis, address, events });
  }, (r) => `${Math.round(r.eventsPerSecond)} events/s (${(r.drainMs / 1000).toFixed(1)} s), worker ${r.cpuUsPerDelivery} µs, redis-server ${r.redisCpuUsPerDelivery} µs CPU/job; appendonly ${r.appendonly}`);
}

async function drainOnce(ctx: BenchContext, scope: Scope, run: { redis: Redis; address: RedisAddress; events: number }): Promise<BullmqResult> {
  const { database, queue, prefix } = await prepare(ctx, scope, run);
  const [server, persistence] = [await redisInfo(run.redis, "server"), await redisPersistence(run.redis)];
  const redisPid = Number(server["process_id"]);
  await ctx.receiver.reset();
  const config: WorkerProcessConfig = {
    redis: run.address,
    prefix,
    queueName: QUEUE_NAME,
    databaseUrl: database.url,
    events: run.events,
    fallbackUrl: `${ctx.receiver.url}/ok`,
    fallbackSecret: ctx.secret,
    timeoutMs: DEADLINE_MS,
  };
  const child = spawnWorkerChild({ label: "B2", file: WORKER_FILE, config });
  scope.defer("stop the B2 worker", () => child.stop());
  await child.next("ready");
  const before = await snapshot(run.redis, redisPid, database.sql);
  const redisRssBytes = statusKilobytes(redisPid, "VmRSS") * 1024;
  const remaining = () => queue.getJobCountByTypes("wait", "active", "delayed", "prioritized", "waiting-children");
  const timed = await timeDrain(child, "B2", remaining);
  const after = await snapshot(run.redis, redisPid, database.sql);
  await child.stop();

  // Guards against a baseline that is fast because it skipped work.
  const delivered = await successfulAttempts(database.sql);
  const stats = await ctx.receiver.stats();
  const jobsReceived = stats.counts["/ok"]?.unique ?? 0;
  if (delivered < run.events || jobsReceived < run.events) {
    throw new Error(`B2: ${delivered} attempts answered 2xx and ${jobsReceived} jobs reached the receiver, of ${run.events}`);
  }
  const perJob = (micros: number) => micros / run.events;
  return {
    drainMs: timed.drainMs,
    eventsPerSecond: run.events / (timed.drainMs / 1000),
    cpuUsPerDelivery: perJob(timed.cpuMicros),
    peakRssBytes: timed.peakRssBytes,
    redisCpuUsPerDelivery: perJob(after.redisMicros - before.redisMicros),
    redisCommandsPerDelivery: (after.commands - before.commands) / run.events,
    redisRssBytes,
    aofRewrites: after.aofRewrites - before.aofRewrites,
    postgresCpuUsPerDelivery: perJob(backendCpuGrowth(before.backends, after.backends)),
    jobsReceived,
    signatureFailures: stats.signatureFailures,
    redisVersion: server["redis_version"] ?? "?",
    ...persistence,
  };
}

/**
 * Not timed: a fresh database with `events` job rows and the attempts table, and a queue under
 * a prefix of this run's own holding one job per row. Its keys are deleted when `scope` closes.
 */
async function prepare(ctx: BenchContext, scope: Scope, run: { redis: Redis; address: RedisAddress; events: number }) {
  const database = await createDatabase(ctx.adminUrl, "b2", scope);
  const jobIds = await insertJobs(database.sql, { count: run.events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
  await createAttemptsTable(database.sql);
  await database.sql`checkpoint`;

  // One prefix per run: the only keys this run writes, and the only ones it deletes.
  const prefix = `bench-b2-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  scope.defer(`delete Redis keys ${prefix}:*`, () => deleteKeys(run.redis, prefix));
  const queue = new Queue(QUEUE_NAME, { connection: run.address, prefix, defaultJobOptions: jobOptions() });
  scope.defer("close the BullMQ queue", () => queue.close());
  await enqueue(queue, jobIds);
  return { database, queue, prefix };
}

/** One BullMQ job per job row, payload the job id, in addBulk calls of ENQUEUE_CHUNK. */
async function enqueue(queue: Queue, jobIds: readonly string[]): Promise<void> {
  for (let start = 0; start < jobIds.length; start += ENQUEUE_CHUNK) {
    await queue.addBulk(jobIds.slice(start, start + ENQUEUE_CHUNK).map((id) => ({ name: JOB_NAME, data: { job_id: id } })));
  }
  const queued = await queue.getJobCountByTypes("wait");
  if (queued !== jobIds.length) throw new Error(`B2: ${queued} jobs waiting after addBulk, ${jobIds.length} enqueued`);
}

/** What the drain is charged for: counters read just before "start" and just after the end. */
async function snapshot(redis: Redis, redisPid: number, sql: Parameters<typeof backendCpuMicros>[0]) {
  const stats = await redisInfo(redis, "stats");
  const persistence = await redisInfo(redis, "persistence");
  return {
    redisMicros: redisCpuMicros(redisPid),
    commands: Number(stats["total_commands_processed"]),
    aofRewrites: Number(persistence["aof_rewrites"] ?? 0),
    backends: await backendCpuMicros(sql),
  };
}
