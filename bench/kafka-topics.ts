/** Kafka for the benchmark: a fresh topic per run (deleted by the scope) and producing job events. */
import { randomBytes } from "node:crypto";
import { Kafka, logLevel, Partitioners, type CompressionTypes, type Producer } from "kafkajs";
import { EVENT } from "./payload.ts";
import type { Scope } from "./scope.ts";

export const PARTITIONS = 4;

export interface BenchTopic {
  readonly topic: string;
  /** A consumer group no earlier run used, so the dispatcher reads the topic from the start. */
  readonly groupId: string;
  /** A connected producer (closed by the scope). */
  readonly producer: Producer;
}

export function kafkaClient(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: "bench", brokers: [...brokers], logLevel: logLevel.NOTHING });
}

export async function createTopic(brokers: readonly string[], label: string, scope: Scope): Promise<BenchTopic> {
  const unique = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  const topic = `bench.${label}.${unique}`;
  const kafka = kafkaClient(brokers);
  const admin = kafka.admin();
  await admin.connect();
  scope.defer(`delete topic ${topic}`, async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }], waitForLeaders: true, timeout: 30_000 });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  scope.defer(`producer of ${topic}`, () => producer.disconnect());
  return { topic, groupId: `bench-${unique}`, producer };
}

/** The message a worker publishes when a job finishes; the key is the job id. */
export function eventMessage(jobId: string): { key: string; value: string } {
  return { key: jobId, value: JSON.stringify({ job_id: jobId, event: EVENT, trace_id: `bench-${jobId.slice(0, 8)}` }) };
}

/**
 * Produces one event per job, `perRequest` (1,000) per request, each request's record batches
 * compressed with `compression` (none), and returns once the broker acknowledged all.
 */
export async function produceEvents(
  bench: BenchTopic,
  jobIds: readonly string[],
  options: { perRequest?: number; compression?: CompressionTypes } = {},
): Promise<void> {
  const perRequest = options.perRequest ?? 1000;
  for (let start = 0; start < jobIds.length; start += perRequest) {
    const messages = jobIds.slice(start, start + perRequest).map(eventMessage);
    await bench.producer.send({ topic: bench.topic, acks: -1, compression: options.compression, messages });
  }
}
