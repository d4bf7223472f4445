/**
 * `npm run bench`: every benchmark scenario in one run, on this machine — real Postgres, the
 * local Kafka broker of scripts/kafka.sh, a receiver process that verifies every signature —
 * then bench/results/<timestamp>.json and .md (printed too).
 *
 *   BENCH_EVENTS=20000 BENCH_RUNS=1 npm run bench     # a quick run
 *   BENCH_ONLY=s0,s1a npm run bench                   # some scenarios only
 *
 * Env: BENCH_EVENTS (100000), BENCH_RUNS (3), BENCH_ONLY (all of s0,s1a,s1ainfo,s1b,s1e,s2,s2info,s2a,s3,s1b16,
 * s3same,s4,s4b,s4b160,s5,s6,s7,b1default,b1default64,b1batched,b2,b2aof), BENCH_PENDING_ROWS (1000000, S4 and S5), BENCH_KAFKA_BACKLOG
 * (200000, S4(b)'s larger backlog), BENCH_HEAP_CAP_BACKLOG (150000, s4b160), BENCH_CLAIMS (30, S5), BENCH_LIST_ROWS (1000000, S6), BENCH_LIST_QUERIES (200 per
 * query shape, S6), BENCH_API_EVENTS (20000, S7), BENCH_EMBEDDED_EVENTS (20000, S1(e) on the embedded PGlite),
 * BENCH_S1_MAX_PER_DESTINATION (64, S1 and S2), BENCH_LOG_LEVEL (warn; the dispatcher's LOG_LEVEL, but for
 * s1ainfo and s2info, which are S1(a) and S2 at LOG_LEVEL=info, the level users run), DATABASE_URL or TEST_POSTGRES_URL (the server to
 * create databases on; postgres://postgres@127.0.0.1:5432/postgres), KAFKA_BROKERS (127.0.0.1:9092;
 * unset, scripts/kafka.sh start runs first), BENCH_REDIS (127.0.0.1:6379, B2's Redis on this
 * machine; B2 writes only keys under a prefix of its own, deletes them after each run, and puts
 * back the AOF settings b2aof changes).
 *
 * The baselines: b1default is graphile-worker at its default concurrency 1 (a row, not a target);
 * b1default64 and b1batched are graphile-worker at concurrency 64 (bench/graphile/settings.ts);
 * b2 and b2aof are BullMQ at concurrency 64 on Redis as it runs, and with AOF everysec
 * (bench/bullmq/settings.ts).
 *
 * Each run of each scenario has a deadline; a scenario that fails is recorded as failed and the
 * others still run (exit code 1).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { bullmqSettingsLabel } from "./bullmq/settings.ts";
import { benchLogLevel } from "./dispatcher-process.ts";
import type { BenchContext } from "./drain.ts";
import { GRAPHILE_SETTINGS_LABEL } from "./graphile/settings.ts";
import { newSecret } from "./payload.ts";
import { startReceiver } from "./receiver-client.ts";
import { renderMarkdown, targetsOf, type Outcome, type Results } from "./report.ts";
import { runBaseline } from "./scenarios/b1-baseline.ts";
import { runBullmqBaseline } from "./scenarios/b2-bullmq.ts";
import { runLimit } from "./scenarios/s0-limit.ts";
import { runOutboxDrain, runKafkaDrain, SINGLE_RECEIVER_ENV } from "./scenarios/s1-throughput.ts";
import { runEmbeddedDrain } from "./scenarios/s1e-embedded.ts";
import { runLatency } from "./scenarios/s2-latency.ts";
import { runOutboxLatency } from "./scenarios/s2a-outbox-latency.ts";
import { runIsolationOtherOrigin, runIsolationSameOrigin } from "./scenarios/s3-isolation.ts";
import { runMemory } from "./scenarios/s4-memory.ts";
import { runKafkaBacklogHeapCap, runKafkaBacklogMemory } from "./scenarios/s4b-kafka-backlog.ts";
import { runClaimCost } from "./scenarios/s5-claim-cost.ts";
import { runListQueries } from "./scenarios/s6-list-queries.ts";
import { runApiIntake } from "./scenarios/s7-api-intake.ts";
import { waitForQuietMachine } from "./proc-stats.ts";
import { installProcessCleanup } from "./scope.ts";
import { medians } from "./stats.ts";

installProcessCleanup();
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const events = Number(process.env.BENCH_EVENTS ?? 100_000);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim())) : null;
const adminUrl = process.env.TEST_POSTGRES_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");

if (!process.env.KAFKA_BROKERS) {
  // Idempotent: returns at once when the broker already runs.
  console.error("bench: scripts/kafka.sh start");
  execFileSync(`${REPO_ROOT}scripts/kafka.sh`, ["start"], { stdio: "inherit", timeout: 180_000 });
}

const busy = await waitForQuietMachine();
console.error(`bench: machine ${Math.round(busy * 100)}% busy before the first scenario`);
const secret = newSecret();
const receiver = await startReceiver(secret);
const ctx: BenchContext = { adminUrl, brokers, receiver, secret, events, runs };
const startedAt = new Date();
const scenarios: Results["scenarios"] = {};

/** Runs one scenario; a failure (or a deadline) is recorded as its result, and the run goes on. */
async function scenario<T extends object>(key: string, body: () => Promise<T[]>): Promise<void> {
  if (only !== null && !only.has(key)) return;
  console.error(`bench: ${key} ...`);
  const started = performance.now();
  let outcome: Outcome;
  try {
    const result = await body();
    outcome = { runs: result, median: medians(result) };
  } catch (error) {
    outcome = { error: (error as Error).message };
    console.error(`bench: ${key} failed: ${(error as Error).message}`);
  }
  scenarios[key] = { ...outcome, seconds: Math.round((performance.now() - started) / 1000) };
  // Written after every scenario, so a run cut short still leaves what it measured.
  await save();
}

/** The installed versions of the baselines' libraries, so each result names what it measured. */
function installedVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}
const baselineVersions = { "graphile-worker": installedVersion("graphile-worker"), bullmq: installedVersion("bullmq"), ioredis: installedVersion("ioredis") };
const graphileWorker = `graphile-worker ${baselineVersions["graphile-worker"]}`;
const bullmq = `BullMQ ${baselineVersions.bullmq} (ioredis ${baselineVersions.ioredis}), ${bullmqSettingsLabel()}`;
/** Each baseline's library, version and settings, printed next to its numbers. */
const baselineSettings = {
  b1default: `${graphileWorker}, ${GRAPHILE_SETTINGS_LABEL.default}`,
  b1default64: `${graphileWorker}, ${GRAPHILE_SETTINGS_LABEL.default64}`,
  b1batched: `${graphileWorker}, ${GRAPHILE_SETTINGS_LABEL.batched}`,
  b2: bullmq,
  b2aof: bullmq,
};

/**
 * s1ainfo and s2info run at info whatever BENCH_LOG_LEVEL is; when it is info too, they measure
 * the same level as s1a and s2 a second time, and say so.
 */
function atInfo<T>(key: string, body: () => Promise<T>): () => Promise<T> {
  return () => {
    if (benchLogLevel() === "info") console.error(`bench: ${key}: BENCH_LOG_LEVEL is info too, so this repeats its scenario at the same level`);
    return body();
  };
}

const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
const directory = new URL("./results/", import.meta.url);

async function save(): Promise<string> {
  const results: Results = {
    date: startedAt.toISOString(),
    finished: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    settings: {
      events,
      runs,
      dispatchConcurrency: 64,
      singleReceiverMaxPerDestination: Number(SINGLE_RECEIVER_ENV.WEBHOOK_MAX_PER_DESTINATION),
      logLevel: benchLogLevel(),
      postgres: adminUrl.replace(/\/\/[^@]*@/, "//"),
      kafka: brokers.join(","),
      versions: baselineVersions,
      baselines: baselineSettings,
    },
    scenarios,
    targets: targetsOf(scenarios),
  };
  const markdown = renderMarkdown(results);
  await mkdir(directory, { recursive: true });
  await writeFile(new URL(`${stamp}.json`, directory), JSON.stringify(results, null, 2) + "\n");
  await writeFile(new URL(`${stamp}.md`, directory), markdown);
  return markdown;
}

await scenario("s0", () => runLimit(ctx));
await scenario("s1a", () => runOutboxDrain(ctx));
await scenario("s1ainfo", atInfo("s1ainfo", () => runOutboxDrain(ctx, "info")));
await scenario("s1b", () => runKafkaDrain(ctx));
await scenario("s1e", () => runEmbeddedDrain(ctx));
const s1b = scenarios.s1b;
const s1bRate = s1b && "median" in s1b ? (s1b.median.eventsPerSecond ?? null) : null;
await scenario("s2", () => runLatency(ctx, s1bRate));
await scenario("s2info", atInfo("s2info", () => runLatency(ctx, s1bRate, "info")));
await scenario("s2a", () => runOutboxLatency(ctx));
await scenario("s3", () => runIsolationOtherOrigin(ctx));
await scenario("s1b16", () => runKafkaDrain(ctx, 16));
await scenario("s3same", () => runIsolationSameOrigin(ctx));
await scenario("s4", () => runMemory(ctx));
await scenario("s4b", () => runKafkaBacklogMemory(ctx));
await scenario("s4b160", () => runKafkaBacklogHeapCap(ctx));
await scenario("s5", () => runClaimCost(ctx));
await scenario("s6", () => runListQueries(ctx));
await scenario("s7", () => runApiIntake(ctx));
await scenario("b1default", () => runBaseline(ctx, "default"));
await scenario("b1default64", () => runBaseline(ctx, "default64"));
await scenario("b1batched", () => runBaseline(ctx, "batched"));
await scenario("b2", () => runBullmqBaseline(ctx, "as-running"));
await scenario("b2aof", () => runBullmqBaseline(ctx, "aof-everysec"));
await receiver.close();

const markdown = await save();
console.log(markdown);
console.error(`bench: wrote bench/results/${stamp}.json and .md`);
process.exit(Object.values(scenarios).some((s) => "error" in s) ? 1 : 0);
