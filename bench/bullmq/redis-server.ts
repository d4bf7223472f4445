/**
 * The machine's Redis as B2 uses it: what it is (pid, version, persistence), switching AOF on
 * for one run and back, and removing one run's keys. Other people use this server: B2 touches
 * only keys under its own prefix (never FLUSHALL) and puts back every setting it changes.
 */
import { Redis } from "ioredis";
import { cpuMicrosOf, reapedChildrenCpuMicrosOf } from "../proc-stats.ts";
import { sleep, type Scope } from "../scope.ts";

export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/** How the server persists writes, as CONFIG GET answers (`save ""` and `appendonly no`: not at all). */
export interface RedisPersistence {
  readonly appendonly: string;
  readonly appendfsync: string;
  readonly save: string;
}

/** BENCH_REDIS (`host:port`, default 127.0.0.1:6379). */
export function redisAddress(env: Readonly<Record<string, string | undefined>>): RedisAddress {
  const [host = "127.0.0.1", port = "6379"] = (env["BENCH_REDIS"] ?? "127.0.0.1:6379").split(":");
  return { host, port: Number(port) };
}

/** A client for the benchmark's own commands, closed when `scope` closes. */
export function connectRedis(address: RedisAddress, scope: Scope): Redis {
  const redis = new Redis({ ...address, lazyConnect: false, maxRetriesPerRequest: 3 });
  scope.defer("close the Redis client", () => redis.quit().catch(() => redis.disconnect()));
  return redis;
}

/** Fields of one INFO section (`server`, `persistence`, `stats`) as strings. */
export async function redisInfo(redis: Redis, section: string): Promise<Record<string, string>> {
  const text = await redis.info(section);
  const fields: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export async function redisPersistence(redis: Redis): Promise<RedisPersistence> {
  const get = async (name: string) => ((await redis.config("GET", name)) as string[])[1] ?? "";
  return { appendonly: await get("appendonly"), appendfsync: await get("appendfsync"), save: await get("save") };
}

/**
 * CPU of redis-server so far, µs: its own threads (the event loop, and the background thread
 * that fsyncs the AOF) plus the forked children it has reaped (AOF rewrites, RDB saves).
 * Needs the server on this machine.
 */
export function redisCpuMicros(pid: number): number {
  return cpuMicrosOf(pid) + reapedChildrenCpuMicrosOf(pid);
}

/**
 * Turns on AOF with fsync every second for this run, as a production Redis holding a job queue
 * runs, and waits for the rewrite that switching it on starts. On `scope` close (also when the
 * run fails): the AOF is rewritten small (the run's keys are gone by then) and appendonly and
 * appendfsync get their previous values back.
 */
export async function enableAofEverysec(redis: Redis, scope: Scope): Promise<void> {
  const previous = await redisPersistence(redis);
  scope.defer(`restore Redis appendonly ${previous.appendonly}, appendfsync ${previous.appendfsync}`, async () => {
    try {
      if (previous.appendonly === "no") await compactAof(redis);
    } finally {
      await redis.config("SET", "appendfsync", previous.appendfsync);
      await redis.config("SET", "appendonly", previous.appendonly);
    }
  });
  await redis.config("SET", "appendfsync", "everysec");
  await redis.config("SET", "appendonly", "yes");
  await waitForAofRewrite(redis);
}

/** Rewrites the AOF to what the server holds now, so the files left on disk after the run are small. */
async function compactAof(redis: Redis): Promise<void> {
  await waitForAofRewrite(redis);
  await redis.bgrewriteaof();
  await waitForAofRewrite(redis);
}

async function waitForAofRewrite(redis: Redis): Promise<void> {
  const deadline = Date.now() + 25_000;
  for (;;) {
    const info = await redisInfo(redis, "persistence");
    if (info["aof_rewrite_in_progress"] === "0" && info["aof_rewrite_scheduled"] === "0") {
      if (info["aof_last_bgrewrite_status"] !== "ok") throw new Error(`Redis AOF rewrite failed: aof_last_bgrewrite_status ${info["aof_last_bgrewrite_status"]}`);
      return;
    }
    if (Date.now() > deadline) throw new Error("Redis AOF rewrite still running after 25 s");
    await sleep(50);
  }
}

/** Deletes every key under `prefix:` (SCAN and UNLINK in batches); returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== "0");
  return deleted;
}
