/**
 * Kafka helpers for tests, on the broker the global setup chose (services.ts): where it is,
 * topics, producing, and stopping/starting the local broker for outage tests.
 */
import { randomUUID } from "node:crypto";
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders } from "kafkajs";
import { inject, type ProvidedContext } from "vitest";
import { runKafkaScript, type ServiceKind } from "./services.ts";

export interface TestMessage {
  key?: string | Buffer | null;
  /** null: a message without a value (a tombstone). */
  value: string | Buffer | null;
  partition?: number;
  headers?: IHeaders;
}

/** The brokers of this run: from the global setup, or `KAFKA_BROKERS` when run without it. */
export function kafkaBrokers(): string[] {
  const provided = tryInject("kafkaBrokers");
  if (provided && provided.length > 0) return [...provided];
  const fromEnv = (process.env["KAFKA_BROKERS"] ?? "")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "");
  if (fromEnv.length > 0) return fromEnv;
  throw new Error(
    "no Kafka brokers: the vitest global setup (test/support/global-setup.ts) did not run and KAFKA_BROKERS is unset. " +
      "Run the tests with vitest (vitest.config.ts), or set KAFKA_BROKERS=host:port.",
  );
}

/** Where the broker came from: `local` (scripts/kafka.sh), `given` (KAFKA_BROKERS) or `testcontainers`. */
export function kafkaKind(): ServiceKind | undefined {
  return tryInject("kafkaKind") ?? (process.env["TEST_KAFKA_KIND"] as ServiceKind | undefined);
}

/** A topic name no other test (or earlier run) uses. */
export function uniqueTopicName(prefix = "test"): string {
  return `${prefix}.${Date.now().toString(36)}.${randomUUID().slice(0, 8)}`;
}

/**
 * Creates `name` with `partitions` partitions (replication factor 1) and waits until every
 * partition has a leader. A topic that already exists with that many partitions is fine.
 */
export async function createTopic(name: string, partitions: number, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  await withAdmin(async (admin) => {
    await admin.createTopics({
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }],
      waitForLeaders: true,
      timeout: timeoutMs,
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: [name] }).catch(() => null);
      const found = metadata?.topics.find((topic) => topic.name === name)?.partitions ?? [];
      if (found.length > 0 && found.length !== partitions) {
        throw new Error(`topic ${name} exists with ${found.length} partitions, not ${partitions}`);
      }
      if (found.length === partitions && found.every((partition) => partition.leader >= 0)) return;
      if (Date.now() > deadline) {
        throw new Error(`topic ${name}: ${found.filter((p) => p.leader >= 0).length} of ${partitions} partitions have a leader after ${timeoutMs} ms`);
      }
      await sleep(100);
    }
  });
}

export async function deleteTopic(name: string): Promise<void> {
  await withAdmin((admin) => admin.deleteTopics({ topics: [name] }));
}

/**
 * Produces `messages` to `topic` in order, `batchSize` per request (acks from all in-sync
 * replicas), and returns when the broker has acknowledged all of them. Messages without a key
 * or partition are spread over the partitions.
 */
export async function produce(topic: string, messages: readonly TestMessage[], options: { batchSize?: number } = {}): Promise<void> {
  const batchSize = options.batchSize ?? 500;
  const producer = client("test-producer").producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    for (let start = 0; start < messages.length; start += batchSize) {
      await producer.send({ topic, acks: -1, messages: messages.slice(start, start + batchSize).map((message) => ({ ...message })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Stops the local broker (scripts/kafka.sh stop): topics and committed offsets are kept. */
export async function stopBroker(): Promise<void> {
  await controlLocalBroker("stop");
}

/** Starts the local broker again and returns when it answers. */
export async function startBroker(): Promise<void> {
  await controlLocalBroker("start");
}

async function controlLocalBroker(command: "start" | "stop"): Promise<void> {
  const kind = kafkaKind();
  if (kind !== "local") {
    throw new Error(
      `cannot ${command} the Kafka broker: this run uses ${kind === undefined ? "an unknown broker" : `a ${kind} broker`} (${kafkaBrokers().join(",")}), ` +
        `and only the local broker of scripts/kafka.sh can be stopped and started by the tests. ` +
        `Unset KAFKA_BROKERS (and run with TEST_SERVICES=local where Docker is available) to run this test.`,
    );
  }
  const result = await runKafkaScript(command);
  if (result.code !== 0) throw new Error(`scripts/kafka.sh ${command} failed (exit ${result.code}):\n${result.output}`);
}

async function withAdmin<T>(use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = client("test-admin").admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

function client(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

function tryInject<K extends "kafkaBrokers" | "kafkaKind">(key: K): ProvidedContext[K] | undefined {
  try {
    return inject(key);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
