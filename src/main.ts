/**
 * The dispatcher's entry point; the same file runs on Node (`npm start`) and Deno (`deno task start`).
 * Everything is composed here by hand: config → database → sender → metrics → dispatcher → admin API.
 */
import { createAdminApi } from "./adapters/api/admin-api.ts";
import { createUndiciSender } from "./adapters/http/undici-sender.ts";
import { createKafkaLagReader } from "./adapters/kafka/kafka-lag.ts";
import { createKafkaSource } from "./adapters/kafka/kafka-source.ts";
import { createPrometheusMetrics } from "./adapters/metrics/prometheus-metrics.ts";
import { openDatabase } from "./adapters/open-database.ts";
import { createPinoLogger } from "./adapters/pino-logger.ts";
import type { Runtime } from "./adapters/runtime/runtime.ts";
import { systemClock } from "./adapters/system-clock.ts";
import { nodeCryptoHmacSha256 } from "./adapters/node-crypto-hmac.ts";
import { uuidV7 } from "./adapters/uuid-v7.ts";
import { parseConfig } from "./app/config.ts";
import { wireDispatcher } from "./app/wire.ts";
import { readAtMostEvery } from "./shared/read-at-most-every.ts";

const runtime: Runtime =
  "Deno" in globalThis
    ? (await import("./adapters/runtime/deno.ts")).denoRuntime
    : (await import("./adapters/runtime/node.ts")).nodeRuntime;

const parsed = parseConfig(runtime.env());
if (!parsed.ok) {
  for (const line of parsed.errors) console.error(`stories-dispatcher: ${line}`);
  runtime.exit(2);
}
const { config } = parsed;
runtime.ignoreLostOutput();
const logger = createPinoLogger({ level: config.logLevel });
const shutdown = new AbortController();
runtime.onShutdownSignal((signal) => {
  if (shutdown.signal.aborted) {
    // Under `npm start` the group's signal arrives twice; a second Ctrl-C does not hurry it either.
    logger.info("already shutting down; SHUTDOWN_TIMEOUT bounds it", { signal });
    return;
  }
  logger.info("shutting down: no new claims; finishing attempts in flight", { signal });
  shutdown.abort();
});

const database = await openDatabase({ config, logger, signal: shutdown.signal });
if (database === null) runtime.exit(0);
// The same sender on Node and Deno, so the destination guard in its connector checks every connection on both.
const sender = createUndiciSender({ policy: config.destinationPolicy, connections: config.perDestinationConcurrency });
// Deno reads /proc/self only with --allow-all, so there the process metrics that need it are left out.
const metrics = createPrometheusMetrics({ logger: logger.child({ component: "metrics" }), procfs: runtime.name !== "deno" });
const dispatcher = wireDispatcher(
  {
    config,
    db: database.db,
    sender,
    hmac: nodeCryptoHmacSha256,
    clock: systemClock,
    random: Math.random,
    newId: () => uuidV7(),
    logger,
    metrics,
  },
  {
    inputs: (acceptBatch) =>
      config.kafkaBrokers.length === 0
        ? []
        : [
            createKafkaSource({
              brokers: config.kafkaBrokers,
              topic: config.kafkaTopic,
              groupId: config.kafkaGroupId,
              fetchMaxBytes: config.kafkaFetchMaxBytes,
              maxEventsPerAccept: config.kafkaBatchSize,
              acceptBatch,
              logger: logger.child({ component: "kafka" }),
            }),
          ],
  },
);
// Asking the brokers costs two requests: at most once every 5 s, however often /metrics is scraped.
const kafkaLag = config.kafkaBrokers.length === 0 ? null : createKafkaLagReader({ brokers: config.kafkaBrokers, topic: config.kafkaTopic, groupId: config.kafkaGroupId });
metrics.observe({
  backlog: dispatcher.backlog,
  attemptsInFlight: () => dispatcher.scheduler.inFlight(),
  waitingForDestination: () => dispatcher.scheduler.waitingForDestination(),
  ...(kafkaLag === null ? {} : { kafkaLag: readAtMostEvery(() => kafkaLag.read(), { intervalMs: 5_000, now: () => Date.now() }) }),
  now: () => Date.now(),
});
const api = createAdminApi({
  db: database.db,
  adminToken: config.adminToken,
  clock: systemClock,
  logger: logger.child({ component: "api" }),
  sources: () => dispatcher.sources.map((source) => ({ name: source.name, ...source.readiness() })),
  onEventAppended: () => dispatcher.outboxPoller.wake(),
  newId: () => uuidV7(),
  onReplayCreated: () => dispatcher.replayRunner.wake(),
  reprocessDeadLetter: dispatcher.reprocessDeadLetter,
  maxPayloadBytes: config.maxPayloadBytes,
  metrics,
  metricsToken: config.metricsToken,
});
const server = await runtime.serve({ fetch: api.fetch, port: config.httpPort, hostname: config.httpHost });
if (config.adminToken === null) logger.warn("ADMIN_TOKEN is not set: the /v1 admin API answers 401 to every call");
logger.info("stories-dispatcher started", {
  runtime: runtime.name,
  database: database.description,
  http_port: server.port,
  inputs: dispatcher.sources.map((source) => source.name),
  max_attempts: config.backoff.maxAttempts,
});

await dispatcher.run(shutdown.signal);
await server.close();
await sender.close();
await kafkaLag?.close();
await database.close();
logger.info("stopped");
runtime.exit(0);
