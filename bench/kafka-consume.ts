/**
 * `npm run bench:kafka-consume`: the consume rate of the Kafka adapter alone — events per second
 * from the topic to durable delivery rows (no HTTP sending). Needs the local broker
 * (`scripts/kafka.sh start`) and Postgres; prints the numbers and writes them to bench/results/.
 *
 *   EVENTS=50000 PARTITIONS=4 npm run bench:kafka-consume
 */
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { Kafka, logLevel } from "kafkajs";
import postgres from "postgres";
import { createKafkaSource } from "../src/adapters/kafka/kafka-source.ts";
import { connectPostgres } from "../src/adapters/postgres/connect.ts";
import { applyMigrations } from "../src/adapters/postgres/migrate.ts";
import { acceptEvents } from "../src/app/accept-events.ts";
import { noopLogger } from "../src/ports/logger.ts";

const events = Number(process.env.EVENTS ?? 50_000);
const partitions = Number(process.env.PARTITIONS ?? 4);
const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const adminUrl = process.env.TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const database = `bench_consume_${Date.now()}`;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${database}`);
const url = new URL(adminUrl);
url.pathname = `/${database}`;
const db = connectPostgres({ url: url.toString() });
await applyMigrations(db.sql);

const jobIds = Array.from({ length: events }, () => randomUUID());
await db.sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
             select id, 'succeeded', now(), '<story/>', 'http://127.0.0.1:9/hook', 'secret' from unnest(${jobIds}::uuid[]) as id`;

const kafka = new Kafka({ clientId: "bench", brokers, logLevel: logLevel.NOTHING });
const topic = `bench-consume-${Date.now()}`;
const kafkaAdmin = kafka.admin();
await kafkaAdmin.connect();
await kafkaAdmin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
const producer = kafka.producer();
await producer.connect();
for (let i = 0; i < jobIds.length; i += 1000) {
  await producer.send({
    topic,
    messages: jobIds.slice(i, i + 1000).map((id) => ({ key: id, value: JSON.stringify({ job_id: id, event: "job.succeeded", trace_id: "bench" }) })),
  });
}
await producer.disconnect();
console.log(`produced ${events} events to ${topic} (${partitions} partitions); consuming...`);

const controller = new AbortController();
const accept = { newId: randomUUID, now: () => new Date(), logger: noopLogger, bodyLimits: { maxPayloadBytes: 1024 * 1024, maxTotalBytes: 16 * 1024 * 1024 } };
// When the first fetched batch was handed over: the steady rate counts from there, so the group
// join and the first fetch are left out, and the first batch's own work is counted in.
let firstBatchAt = 0;
const source = createKafkaSource({
  brokers,
  topic,
  groupId: `bench-${randomUUID()}`,
  logger: noopLogger,
  acceptBatch: (batch) => {
    if (firstBatchAt === 0) firstBatchAt = performance.now();
    return db.transaction((tx) => acceptEvents(accept, tx, batch));
  },
});
const cpuBefore = process.cpuUsage();
const started = performance.now();
const running = source.run(controller.signal);
for (;;) {
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries`;
  if (row!.n >= events) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const elapsedMs = performance.now() - started;
const steadyMs = performance.now() - firstBatchAt;
const cpu = process.cpuUsage(cpuBefore);
controller.abort();
await running;

const result = {
  scenario: "kafka-consume",
  date: new Date().toISOString(),
  events,
  partitions,
  elapsed_ms: Math.round(elapsedMs),
  events_per_second: Math.round(events / (elapsedMs / 1000)),
  events_per_second_from_first_fetch: Math.round(events / (steadyMs / 1000)),
  cpu_us_per_event: Math.round((cpu.user + cpu.system) / events),
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
await writeFile(new URL(`./results/kafka-consume-${result.date.replace(/[:.]/g, "-")}.json`, import.meta.url), JSON.stringify(result, null, 2) + "\n");

await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => {});
await kafkaAdmin.disconnect();
await db.close();
await admin.unsafe(`drop database ${database} with (force)`);
await admin.end();
