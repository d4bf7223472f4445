import { randomUUID } from "node:crypto";
import { CompressionTypes, Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { defaultDecompressors } from "../../src/adapters/kafka/codecs.ts";
import { createKafkaSource } from "../../src/adapters/kafka/kafka-source.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import type { EventSource } from "../../src/ports/event-source.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, capturingLogger, finishedJob } from "../support/app-fixtures.ts";
import { createTopic, deleteTopic, kafkaBrokers, uniqueTopicName } from "../support/kafka.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runInBackground(source: EventSource): void {
  const controller = new AbortController();
  const running = source.run(controller.signal);
  cleanups.push(async () => {
    controller.abort();
    await running;
  });
}

const eventOf = (jobId: string) => ({ key: jobId, value: JSON.stringify({ job_id: jobId, event: "job.succeeded" }) });

describe("Kafka record batches that cannot be decoded", () => {
  it("dead-letters an undecodable batch once with its topic, partition and offset range, and accepts the events before and after it", async () => {
    const db = createMemoryDatabase();
    const jobs = Array.from({ length: 5 }, () => finishedJob());
    jobs.forEach((job) => db.putJob(job));
    const topic = uniqueTopicName("undecodable");
    await createTopic(topic, 1);
    cleanups.push(() => deleteTopic(topic));

    const producer = new Kafka({ clientId: "undecodable-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic, acks: -1, messages: [eventOf(jobs[0]!.id)] });
    // One gzip record batch of three events at offsets 1-3: the consumer's gzip decoder below fails on it, like corrupt bytes would.
    await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: jobs.slice(1, 4).map((job) => eventOf(job.id)) });
    await producer.send({ topic, acks: -1, messages: [eventOf(jobs[4]!.id)] });

    const logger = capturingLogger();
    const corruptGzip = () => {
      throw new Error("invalid gzip header (corrupt on purpose)");
    };
    runInBackground(
      createKafkaSource({
        brokers: kafkaBrokers(),
        topic,
        groupId: `group-${randomUUID()}`,
        logger,
        decompressors: { ...defaultDecompressors, gzip: corruptGzip },
        // Parts of two events: the undecodable batch's three placeholders span two parts.
        maxEventsPerAccept: 2,
        acceptBatch: (events) => db.transaction((tx) => acceptEvents({ newId: randomUUID, now: () => new Date(), logger: noopLogger, bodyLimits }, tx, events)),
      }),
    );

    await waitFor("the event after the undecodable batch", async () => (await db.deliveries.listDeliveriesForJob(jobs[4]!.id)).length === 1);
    expect(await db.deliveries.listDeliveriesForJob(jobs[0]!.id)).toHaveLength(1);
    for (const job of jobs.slice(1, 4)) expect(await db.deliveries.listDeliveriesForJob(job.id)).toEqual([]);
    const letters = await db.deadLetters.listDeadLetters({ limit: 10 });
    expect(letters).toEqual([
      expect.objectContaining({
        source: "kafka",
        topic,
        partition: 0,
        offset: "1",
        lastOffset: "3",
        reason: expect.stringMatching(/^undecodable_batch: .*corrupt on purpose/),
      }),
    ]);
    expect(logger.lines.some((line) => line.includes("could not be decoded") && line.includes('"first_offset":"1"') && line.includes('"last_offset":"3"'))).toBe(true);
  });

  it("keeps a consumer that cannot run visibly not ready, and waits longer before each restart", async () => {
    const logger = capturingLogger();
    const source = createKafkaSource({
      // Nothing listens on port 9 of the loopback: every connect is refused at once.
      brokers: ["127.0.0.1:9"],
      topic: "never-read",
      groupId: `group-${randomUUID()}`,
      logger,
      requestRetries: 0,
      acceptBatch: async () => {},
    });
    runInBackground(source);
    const waits = () => logger.lines.map((line) => /"restart_in_ms":(\d+)/.exec(line)?.[1]).filter((ms) => ms !== undefined).map(Number);
    await waitFor("three restarts", () => waits().length >= 3, { timeoutMs: 20_000 });
    expect(waits().slice(0, 3)).toEqual([1_000, 2_000, 4_000]);
    const readiness = source.readiness();
    expect(readiness.ready).toBe(false);
    expect(readiness.reason).toMatch(/^kafka: consumer stopped \d+ times in a row, last because: .+; restarting in \d+ s$/);
  });
});
