import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createKafkaSource } from "../../src/adapters/kafka/kafka-source.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import type { EventSource } from "../../src/ports/event-source.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, finishedJob } from "../support/app-fixtures.ts";
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A one-partition topic holding one event for each of `count` finished jobs, and the memory database that knows the jobs. */
async function backlogOf(count: number) {
  const db = createMemoryDatabase();
  const jobs = Array.from({ length: count }, () => finishedJob());
  jobs.forEach((job) => db.putJob(job));
  const topic = uniqueTopicName("read-ahead");
  await createTopic(topic, 1);
  cleanups.push(() => deleteTopic(topic));
  const producer = new Kafka({ clientId: "read-ahead-test", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: jobs.map((job) => ({ key: job.id, value: JSON.stringify({ job_id: job.id, event: "job.succeeded" }) })),
  });
  await producer.disconnect();
  const acceptBatch = (events: Parameters<typeof acceptEvents>[2]) =>
    db.transaction((tx) => acceptEvents({ newId: randomUUID, now: () => new Date(), logger: noopLogger, bodyLimits }, tx, events));
  const created = async () => (await Promise.all(jobs.map((job) => db.deliveries.listDeliveriesForJob(job.id)))).flat().length;
  return { db, topic, acceptBatch, created };
}

describe("Kafka read-ahead", () => {
  it("stops reading while the deliveries waiting for a slot are at the limit, and reads on as they are claimed", async () => {
    const { db, topic, acceptBatch, created } = await backlogOf(30);
    const source = createKafkaSource({
      brokers: kafkaBrokers(),
      topic,
      groupId: `group-${randomUUID()}`,
      logger: noopLogger,
      maxEventsPerAccept: 5,
      acceptBatch,
      readAhead: { max: 10, count: (atMost) => db.deliveries.countDue({ now: new Date(), atMost }) },
    });
    runInBackground(source);

    // Parts of 5 are accepted while fewer than 10 wait: 0, then 5, then at 10 it stops.
    await waitFor("the first ten deliveries", async () => (await created()) === 10);
    await sleep(1_500);
    expect(await created()).toBe(10);
    expect(source.readiness()).toEqual({ ready: true });

    // Claiming is what delivery does first: the claimed no longer wait, and reading goes on.
    await db.deliveries.claimDueDeliveries({ now: new Date(), limit: 10, leaseMs: 60_000 });
    await waitFor("the next ten deliveries", async () => (await created()) === 20);
    await sleep(1_000);
    expect(await created()).toBe(20);

    await db.deliveries.claimDueDeliveries({ now: new Date(), limit: 20, leaseMs: 60_000 });
    await waitFor("every delivery", async () => (await created()) === 30);
  });

  it("reads on when the count of waiting deliveries fails: the database error belongs to accepting, not to pacing", async () => {
    const { topic, acceptBatch, created } = await backlogOf(12);
    runInBackground(
      createKafkaSource({
        brokers: kafkaBrokers(),
        topic,
        groupId: `group-${randomUUID()}`,
        logger: noopLogger,
        maxEventsPerAccept: 5,
        acceptBatch,
        readAhead: { max: 1, count: () => Promise.reject(new Error("connection refused")) },
      }),
    );
    await waitFor("every delivery", async () => (await created()) === 12);
  });
});
