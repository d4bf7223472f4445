import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver } from "../../scripts/sample-receiver.ts";
import { parseJson } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { produce } from "../support/kafka.ts";
import { waitFor } from "../support/wait-for.ts";
import { eventMessage, receiptsPerWebhook, startKafkaScenario, type KafkaScenario } from "../support/kafka-scenario.ts";

let scenario: KafkaScenario | null = null;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

async function start(options: Parameters<typeof startKafkaScenario>[0]): Promise<KafkaScenario> {
  scenario = await startKafkaScenario(options);
  return scenario;
}

describe("Kafka input", () => {
  it("delivers 1,000 events spread over 4 partitions, each exactly once and verified", async () => {
    const s = await start({ partitions: 4 });
    await s.spawn();
    const jobs = await s.addJobs(1000);
    await produce(s.topic, jobs.map((id) => eventMessage(id)));
    await waitFor("1,000 deliveries sent", async () => (await s.sentCount()) === 1000, { timeoutMs: 60_000 });
    const perWebhook = receiptsPerWebhook(s.receiver);
    expect(perWebhook.size).toBe(1000);
    expect([...perWebhook.values()].every((n) => n === 1)).toBe(true);
    expect(s.receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
    const partitions = await s.sql`select count(distinct kafka_partition)::int as n from webhook_dead_letters`;
    expect(partitions[0]?.n).toBe(0);
  });

  it("creates one delivery row when the same message is produced twice", async () => {
    const s = await start({ partitions: 2 });
    const dispatcher = await s.spawn({ LOG_LEVEL: "debug" });
    const [jobId] = await s.addJobs(1);
    const [marker] = await s.addJobs(1);
    await produce(s.topic, [eventMessage(jobId!), eventMessage(jobId!)]);
    // A later message on the same partition (same key) proves both copies were consumed.
    await produce(s.topic, [{ ...eventMessage(marker!), key: jobId! }]);
    await waitFor("the later message's delivery", async () => (await s.sentCount()) === 2);
    const rows = await s.sql`select job_id from webhook_deliveries where job_id = ${jobId!}`;
    expect(rows).toHaveLength(1);
    expect(receiptsPerWebhook(s.receiver).size).toBe(2);
    expect(dispatcher.lines.length).toBeGreaterThan(0);
  });

  it("dead-letters poison messages with their reason and coordinates, and delivers every good message after them", async () => {
    const s = await start({ partitions: 1 });
    await s.spawn();
    const good = await s.addJobs(3);
    const unknownJob = "5b0a4f5e-1111-4222-8333-944455556666";
    await produce(s.topic, [
      eventMessage(good[0]!),
      { key: "k1", value: "{not json" },
      { key: "k2", value: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
      { key: "k3", value: JSON.stringify({ event: "job.succeeded" }) },
      { key: "k4", value: JSON.stringify({ job_id: "42", event: "job.succeeded" }) },
      eventMessage(good[1]!),
      eventMessage(unknownJob),
      { key: "k6", value: JSON.stringify({ job_id: good[2], event: "job.succeeded", trace_id: "x".repeat(70_000) }) },
      { key: "k7", value: null },
      eventMessage(good[2]!),
    ]);
    await waitFor("the three good deliveries", async () => (await s.sentCount()) === 3);
    await waitFor("seven dead letters", async () => (await s.sql`select 1 from webhook_dead_letters`).length === 7);
    const letters = await s.sql<{ reason: string; topic: string; kafka_partition: number; kafka_offset: string; message_key: Buffer | null; raw: Buffer | null }[]>`
      select reason, topic, kafka_partition, kafka_offset, message_key, raw from webhook_dead_letters order by kafka_offset::bigint`;
    expect(letters.map((l) => [l.kafka_offset, l.reason.split(":")[0]])).toEqual([
      ["1", "invalid_json"],
      ["2", "invalid_utf8"],
      ["3", "missing_field"],
      ["4", "invalid_field"],
      ["6", "unknown_job"],
      ["7", "too_large"],
      ["8", "not_an_object"],
    ]);
    expect(letters.every((l) => l.topic === s.topic && l.kafka_partition === 0)).toBe(true);
    expect(letters[1]?.raw?.equals(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toBe(true);
    expect(letters[0]?.message_key?.toString()).toBe("k1");
  });

  it("shares the partitions between two processes in one consumer group, delivering every event once", async () => {
    const s = await start({ partitions: 4 });
    const processes = [await s.spawn(), await s.spawn()];
    await waitFor("both processes to hold partitions", () =>
      processes.every((p) => latestAssignment(p.lines) > 0) && processes.reduce((n, p) => n + latestAssignment(p.lines), 0) === 4,
    { timeoutMs: 60_000 });
    const jobs = await s.addJobs(1000);
    await produce(s.topic, jobs.map((id) => eventMessage(id)));
    await waitFor("1,000 deliveries sent", async () => (await s.sentCount()) === 1000, { timeoutMs: 60_000 });
    const rows = await s.sql`select count(*)::int as n, count(distinct job_id)::int as jobs from webhook_deliveries`;
    expect(rows[0]).toEqual({ n: 1000, jobs: 1000 });
    expect(receiptsPerWebhook(s.receiver).size).toBe(1000);
    expect(s.receiver.receipts).toHaveLength(1000);
  });

  it("keeps consuming and delivering events of healthy receivers while another receiver takes 5 s per request", async () => {
    const s = await start({ partitions: 2 });
    const slowReceiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200, delayMs: 5_000 }) });
    try {
      await s.spawn({ WEBHOOK_TIMEOUT: "10s" });
      const slow = await s.addJobs(20, "/slow", slowReceiver.url);
      const fast = await s.addJobs(200, "/fast");
      const interleaved = fast.flatMap((id, i) => (i % 10 === 0 && slow[i / 10] ? [slow[i / 10]!, id] : [id]));
      await produce(s.topic, interleaved.map((id) => eventMessage(id)));
      await waitFor("every healthy receiver's delivery", () => s.receiver.receipts.length === 200, { timeoutMs: 20_000 });
      // The slow receiver has not answered yet: the healthy deliveries did not wait behind it.
      const [slowAnswered] = await s.sql`select count(*)::int as n from webhook_delivery_attempts a
                                         join webhook_deliveries d on d.id = a.delivery_id where d.url like '%/slow'`;
      expect(slowAnswered?.n).toBe(0);
      expect(slowReceiver.receipts.length).toBeGreaterThan(0);
      await waitFor("the slow deliveries too", async () => (await s.sentCount()) === 220, { timeoutMs: 30_000 });
    } finally {
      await slowReceiver.close();
    }
  });

  it("consumes from Kafka on Deno (deno task start) and delivers a webhook that verifies", async () => {
    const s = await start({ partitions: 1 });
    await s.spawn({}, "deno");
    const [jobId] = await s.addJobs(1);
    await produce(s.topic, [eventMessage(jobId!)]);
    await waitFor("the delivery to be sent", async () => (await s.sentCount()) === 1, { timeoutMs: 30_000 });
    expect(s.receiver.receipts[0]?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
  });
});

/** How many partitions the process's latest group join assigned to it. */
function latestAssignment(lines: readonly string[]): number {
  const joins = lines.map(parseJson).filter((line) => line?.msg === "joined the consumer group");
  const last = joins.at(-1)?.assignment as Record<string, number[]> | undefined;
  return last ? Object.values(last).reduce((n, partitions) => n + partitions.length, 0) : 0;
}
