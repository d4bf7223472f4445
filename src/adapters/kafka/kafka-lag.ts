import { Kafka, logLevel, type Admin } from "kafkajs";
import type { PartitionLag } from "../../ports/metrics.ts";

export interface KafkaLagReader {
  /** Each partition's lag: its end offset less the group's committed offset (its first offset when the group has committed none, as the consumer starts from the beginning). */
  read(): Promise<readonly PartitionLag[]>;
  close(): Promise<void>;
}

/** Most a lag read waits for the brokers, ms: a scrape must not hang on an unreachable cluster. */
const REQUEST_TIMEOUT_MS = 5_000;

/**
 * The consumer group's lag, read from the brokers with an admin client of its own: two requests
 * (the topic's end offsets, the group's committed offsets). It is asked of the brokers rather than
 * kept by the consumer, so it keeps growing while the consumer is stuck or gone.
 */
export function createKafkaLagReader(options: { readonly brokers: readonly string[]; readonly topic: string; readonly groupId: string }): KafkaLagReader {
  const kafka = new Kafka({
    clientId: "stories-dispatcher-lag",
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: REQUEST_TIMEOUT_MS,
    retry: { retries: 1 },
  });
  let admin: Admin | null = null;
  let connecting: Promise<Admin> | null = null;
  const connected = (): Promise<Admin> => {
    if (admin !== null) return Promise.resolve(admin);
    connecting ??= (async () => {
      const client = kafka.admin();
      try {
        await client.connect();
        admin = client;
        return client;
      } finally {
        connecting = null;
      }
    })();
    return connecting;
  };
  return {
    async read() {
      const client = await connected();
      try {
        return await readLag(client, options);
      } catch (error) {
        // Reconnect on the next read: the connection may be what failed.
        admin = null;
        await client.disconnect().catch(() => {});
        throw error;
      }
    },
    async close() {
      const client = admin;
      admin = null;
      await client?.disconnect().catch(() => {});
    },
  };
}

async function readLag(admin: Admin, options: { readonly topic: string; readonly groupId: string }): Promise<PartitionLag[]> {
  const { topic, groupId } = options;
  const [ends, groups] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const committed = new Map((groups.find((group) => group.topic === topic)?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends
    .map((end) => {
      const done = committed.get(end.partition);
      const from = done === undefined || done < 0 ? Number(end.low) : done;
      return { topic, partition: end.partition, lag: Math.max(0, Number(end.high) - from) };
    })
    .sort((a, b) => a.partition - b.partition);
}
