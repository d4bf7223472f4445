import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterEach, describe, expect, it } from "vitest";
import { createKafkaSource } from "../../src/adapters/kafka/kafka-source.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, capturingLogger } from "../support/app-fixtures.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createTopic, kafkaBrokers, produce, uniqueTopicName } from "../support/kafka.ts";
import { createProxiedDatabase } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait-for.ts";
import { eventMessage, startKafkaScenario } from "../support/kafka-scenario.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The group's committed offsets on `topic`, summed over partitions (-1, "none", counts as 0). */
async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: "offsets-check", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

describe("Kafka input durability", () => {
  it("commits no offset while Postgres is unreachable, loses nothing, and resumes when it returns", async () => {
    const { proxy, direct, db } = await createProxiedDatabase(cleanups);

    const jobs = Array.from({ length: 200 }, () => randomUUID());
    await direct`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
                  select id, 'succeeded', now(), 'x', 'http://127.0.0.1:9/hook', ${TEST_SECRET} from unnest(${jobs}::uuid[]) as id`;
    const topic = uniqueTopicName("durability");
    await createTopic(topic, 2);
    const groupId = `group-${randomUUID()}`;
    const logger = capturingLogger();
    const source = createKafkaSource({
      brokers: kafkaBrokers(),
      topic,
      groupId,
      logger,
      acceptBatch: (events) => db.transaction((tx) => acceptEvents({ newId: randomUUID, now: () => new Date(), logger: noopLogger, bodyLimits }, tx, events)),
    });
    const controller = new AbortController();
    const running = source.run(controller.signal);
    cleanups.push(async () => {
      controller.abort();
      await running;
    });
    const rows = async () => (await direct<{ n: number }[]>`select count(*)::int as n from webhook_deliveries`)[0]!.n;

    await produce(topic, jobs.slice(0, 100).map((id) => eventMessage(id)));
    await waitFor("the first 100 rows", async () => (await rows()) === 100);
    await waitFor("their offsets to be committed", async () => (await committedTotal(groupId, topic)) === 100);

    await proxy.cut();
    await produce(topic, jobs.slice(100).map((id) => eventMessage(id)));
    await waitFor("the failed write to be reported", () => source.readiness().reason?.includes("cannot store consumed events"));
    expect(logger.lines.some((line) => line.includes("offsets not committed"))).toBe(true);
    expect(await committedTotal(groupId, topic)).toBe(100);

    await proxy.restore();
    await waitFor("all 200 rows", async () => (await rows()) === 200, { timeoutMs: 30_000 });
    await waitFor("all 200 offsets committed", async () => (await committedTotal(groupId, topic)) === 200);
    await waitFor("ready again", () => source.readiness().ready);
  });

  it("on SIGTERM commits the batch in flight, leaves the group and exits 0", async () => {
    const s = await startKafkaScenario({ partitions: 2 });
    cleanups.push(() => s.cleanup());
    const dispatcher = await s.spawn();
    const jobs = await s.addJobs(500);
    await produce(s.topic, jobs.map((id) => eventMessage(id)));
    await waitFor("500 delivery rows", async () => (await s.sql`select 1 from webhook_deliveries`).length === 500);
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
    expect(await committedTotal(s.env.KAFKA_GROUP_ID!, s.topic)).toBe(500);
  });
});
