import { randomUUID } from "node:crypto";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { defaultDecompressors, registerKafkaCodecs, type KafkaCodecName, type KafkaDecompressors } from "../../src/adapters/kafka/codecs.ts";
import { kafkaBrokers } from "../support/kafka.ts";
import { compileJavaProducer, type JavaProducer, type ProducerCompression } from "../support/kafka-java.ts";
import { waitFor } from "../support/wait-for.ts";
import { eventMessage, receiptsPerWebhook, startKafkaScenario, type KafkaScenario } from "../support/kafka-scenario.ts";

/**
 * Batches compressed by Apache Kafka's own Java producer (not kafkajs), consumed by the real
 * dispatcher process. Each test also reads the topic back through counting decompressors, to
 * show that the batches really carry that codec and were not sent uncompressed.
 */

const PARTITIONS = 2;
/** How each codec's compressed records start, as the Java client writes them (snappy: xerial framing). */
const MAGIC: Readonly<Record<KafkaCodecName, string>> = { gzip: "1f8b08", snappy: "82534e41", lz4: "04224d18", zstd: "28b52ffd" };

let java: JavaProducer;
beforeAll(async () => {
  java = await compileJavaProducer();
});
afterAll(() => java?.dispose());

let scenario: KafkaScenario | null = null;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

async function start(partitions: number): Promise<KafkaScenario> {
  scenario = await startKafkaScenario({ partitions });
  return scenario;
}

interface CompressedBatch {
  readonly codec: KafkaCodecName;
  /** The first 4 bytes kafkajs handed to the decompressor, in hex. */
  readonly head: string;
}

/**
 * Reads `topic` from the beginning with kafkajs in this process until `records` records arrived,
 * with decompressors that note every compressed record batch: kafkajs chooses the decompressor
 * from the batch's attributes, so an uncompressed batch calls none.
 */
async function readCompressedBatches(topic: string, records: number): Promise<CompressedBatch[]> {
  const batches: CompressedBatch[] = [];
  const noting = Object.fromEntries(
    Object.entries(defaultDecompressors).map(([codec, decompress]) => [
      codec,
      (data: Uint8Array) => {
        batches.push({ codec: codec as KafkaCodecName, head: Buffer.from(data.subarray(0, 4)).toString("hex") });
        return decompress(data);
      },
    ]),
  ) as unknown as KafkaDecompressors;
  registerKafkaCodecs(noting);
  const kafka = new Kafka({ clientId: "codec-reader", brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `codec-reader-${randomUUID()}`, maxWaitTimeInMs: 500 });
  try {
    let read = 0;
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachBatch: async ({ batch }) => void (read += batch.messages.length) });
    await waitFor(`${records} records read back from ${topic}`, () => read >= records, { timeoutMs: 30_000 });
  } finally {
    await consumer.disconnect();
    registerKafkaCodecs();
  }
  return batches;
}

async function deadLetterCount(s: KafkaScenario): Promise<number> {
  const [row] = await s.sql<{ n: number }[]>`select count(*)::int as n from webhook_dead_letters`;
  return row!.n;
}

describe("Kafka batches compressed by Apache Kafka's Java producer", () => {
  it.each<ProducerCompression>(["none", "gzip", "snappy", "lz4", "zstd"])(
    "delivers 200 events from %s batches, each exactly once, to its own job",
    async (compression) => {
      const s = await start(PARTITIONS);
      const jobs = await s.addJobs(200);
      // The dispatcher reads the topic from its beginning: it may start while the JVM produces.
      await Promise.all([s.spawn(), java.produce({ topic: s.topic, compression, messages: jobs.map((id) => eventMessage(id)) })]);

      const batches = await readCompressedBatches(s.topic, 200);
      if (compression === "none") {
        expect(batches).toEqual([]);
      } else {
        // One batch per partition (linger.ms outlasts the sends): 200 records in at most 2 batches.
        expect(batches.length).toBeGreaterThanOrEqual(1);
        expect(batches.length).toBeLessThanOrEqual(PARTITIONS);
        expect(new Set(batches.map((b) => `${b.codec} ${b.head.slice(0, MAGIC[b.codec].length)}`))).toEqual(new Set([`${compression} ${MAGIC[compression]}`]));
      }

      await waitFor("200 deliveries sent", async () => (await s.sentCount()) === 200, { timeoutMs: 60_000 });
      const perWebhook = receiptsPerWebhook(s.receiver);
      expect(perWebhook.size).toBe(200);
      expect([...perWebhook.values()].every((n) => n === 1)).toBe(true);
      const deliveredJobs = s.receiver.receipts.map((r) => (JSON.parse(r.body.toString("utf8")) as { job_id: string }).job_id);
      expect(deliveredJobs.sort()).toEqual([...jobs].sort());
      expect(s.receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
      const [rows] = await s.sql`select count(*)::int as n, count(distinct job_id)::int as jobs from webhook_deliveries`;
      expect(rows).toEqual({ n: 200, jobs: 200 });
      expect(await deadLetterCount(s)).toBe(0);
    },
    120_000,
  );

  it("delivers snappy, LZ4 and zstd batches on Deno (deno task start)", async () => {
    const s = await start(1);
    const jobs = await s.addJobs(30);
    const codecs = ["snappy", "lz4", "zstd"] as const;
    const produceEach = async () => {
      for (const [i, compression] of codecs.entries()) {
        await java.produce({ topic: s.topic, compression, messages: jobs.slice(i * 10, i * 10 + 10).map((id) => eventMessage(id)) });
      }
    };
    await Promise.all([s.spawn({}, "deno"), produceEach()]);
    // One partition: the three batches in the order they were produced.
    expect((await readCompressedBatches(s.topic, 30)).map((b) => b.codec)).toEqual([...codecs]);

    await waitFor("30 deliveries sent", async () => (await s.sentCount()) === 30, { timeoutMs: 60_000 });
    expect(receiptsPerWebhook(s.receiver).size).toBe(30);
    expect(s.receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
    expect(await deadLetterCount(s)).toBe(0);
  }, 120_000);
});
