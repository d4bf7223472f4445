import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createKafkaLagReader, type KafkaLagReader } from "../../src/adapters/kafka/kafka-lag.ts";
import { createTopic, deleteTopic, kafkaBrokers, produce, uniqueTopicName } from "../support/kafka.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function lagReader(topic: string, groupId: string, brokers = kafkaBrokers()): KafkaLagReader {
  const reader = createKafkaLagReader({ brokers, topic, groupId });
  cleanups.push(() => reader.close());
  return reader;
}

describe("Kafka consumer lag", () => {
  it("is each partition's messages after the group's committed offset, or all of them before the group commits", async () => {
    const topic = uniqueTopicName("lag");
    await createTopic(topic, 2);
    cleanups.push(() => deleteTopic(topic));
    await produce(topic, [0, 0, 0, 1, 1].map((partition) => ({ value: "{}", partition })));
    const groupId = `lag-${topic}`;
    const reader = lagReader(topic, groupId);
    expect(await reader.read()).toEqual([{ topic, partition: 0, lag: 3 }, { topic, partition: 1, lag: 2 }]);

    const admin = new Kafka({ brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "2" }, { partition: 1, offset: "2" }] });
    await admin.disconnect();
    expect(await reader.read()).toEqual([{ topic, partition: 0, lag: 1 }, { topic, partition: 1, lag: 0 }]);
  });

  it("rejects, rather than hangs, when the brokers cannot be reached", async () => {
    const reader = lagReader("any-topic", "any-group", ["127.0.0.1:1"]);
    const startedAt = performance.now();
    await expect(reader.read()).rejects.toThrow();
    expect(performance.now() - startedAt).toBeLessThan(30_000);
  }, 40_000);
});
