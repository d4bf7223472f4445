import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { parseJson } from "../support/dispatcher-process.ts";
import { produce } from "../support/kafka.ts";
import { startReceiver } from "../support/local-receiver.ts";
import { TEST_SECRET } from "../support/harness.ts";
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
    // Rows are committed before the process logs them: wait for both lines, then count the twice-produced job's.
    const sentLines = (job: string) => dispatcher.lines.map(parseJson).filter((line) => line?.msg === "delivery sent" && line.job_id === job);
    await waitFor("the process to log both sends", () => sentLines(jobId!).length > 0 && sentLines(marker!).length > 0);
    expect(sentLines(jobId!)).toHaveLength(1);
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

  it("delivers a message that carries its job, with no jobs row, signed with the carried secret, and dead-letters one whose job is invalid", async () => {
    const s = await start({ partitions: 1 });
    await s.spawn();
    const [carried, invalid] = [randomUUID(), randomUUID()];
    const job = { status: "failed", finished_at: "2026-01-01T12:00:00Z", error: { code: "E1", message: "boom" }, webhook: { url: `${s.receiver.url}/carried`, secret: TEST_SECRET } };
    await produce(s.topic, [
      { key: carried, value: JSON.stringify({ job_id: carried, event: "job.failed", job }) },
      { key: invalid, value: JSON.stringify({ job_id: invalid, event: "job.failed", job: { ...job, error: null } }) },
    ]);
    await waitFor("the carried job's delivery", async () => (await s.sentCount()) === 1);
    const [receipt] = s.receiver.receipts;
    expect(receipt?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
    expect(JSON.parse(receipt!.body.toString())).toEqual({ job_id: carried, status: "failed", finished_at: "2026-01-01T12:00:00.000Z", error: { code: "E1", message: "boom" } });
    const letters = await waitFor("the invalid job's dead letter", async () => {
      const rows = await s.sql<{ reason: string }[]>`select reason from webhook_dead_letters`;
      return rows.length > 0 ? rows : null;
    });
    expect(letters.map((l) => l.reason)).toEqual(["missing_field: job.error (a failed job has one)"]);
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

  it("delivers every event of a stream exactly once while a second process joins the group mid-stream and the first then leaves", async () => {
    const s = await start({ partitions: 4 });
    const first = await s.spawn();
    await waitFor("the first process to hold all 4 partitions", () => latestAssignment(first.lines) === 4, { timeoutMs: 60_000 });
    const stream = streamEvents(s);
    try {
      const flowing = async (what: string) => {
        const before = await s.sentCount();
        await waitFor(what, async () => (await s.sentCount()) >= before + 100, { timeoutMs: 60_000 });
      };
      await flowing("the stream to be under way");

      const second = await s.spawn();
      await waitFor("the group to rebalance over both processes", () => {
        const [a, b] = [latestAssignment(first.lines), latestAssignment(second.lines)];
        return a > 0 && b > 0 && a + b === 4;
      }, { timeoutMs: 60_000 });
      await flowing("events to flow after the second process joined");

      expect(await first.stop("SIGTERM")).toBe(0);
      await waitFor("the second process to take all 4 partitions", () => latestAssignment(second.lines) === 4, { timeoutMs: 60_000 });
      await flowing("events to flow after the first process left");

      const produced = await stream.stop();
      await waitFor(`all ${produced.length} deliveries sent`, async () => (await s.sentCount()) === produced.length, { timeoutMs: 60_000 });
      const [rows] = await s.sql`select count(*)::int as n, count(distinct job_id)::int as jobs from webhook_deliveries`;
      expect(rows).toEqual({ n: produced.length, jobs: produced.length });
      const perWebhook = receiptsPerWebhook(s.receiver);
      expect(perWebhook.size).toBe(produced.length);
      expect([...perWebhook.values()].filter((n) => n !== 1)).toEqual([]);
      expect(await s.sql`select reason from webhook_dead_letters`).toEqual([]);
      // Both members delivered part of the stream (the second's lines follow its commits).
      expect(sentLineCount(first.lines)).toBeGreaterThan(0);
      await waitFor("the second process to log its sends", () => sentLineCount(first.lines) + sentLineCount(second.lines) === produced.length);
      expect(sentLineCount(second.lines)).toBeGreaterThan(0);
    } finally {
      await stream.stop().catch(() => {});
    }
  }, 300_000);

  it("keeps consuming and delivering events of healthy receivers while another receiver holds every request unanswered", async () => {
    const s = await start({ partitions: 2 });
    // Answers nothing until the test releases it, however long the healthy deliveries take.
    const held: ServerResponse[] = [];
    let released = false;
    const release = () => {
      released = true;
      for (const response of held.splice(0)) response.end();
    };
    const slowReceiver = await startReceiver((_request, response) => (released ? response.end() : held.push(response)));
    try {
      // Longer than the test: a slow attempt ends only when the test releases it.
      await s.spawn({ WEBHOOK_TIMEOUT: "10m" });
      const slow = await s.addJobs(20, "/slow", new URL(slowReceiver.url).origin);
      const fast = await s.addJobs(200, "/fast");
      const interleaved = fast.flatMap((id, i) => (i % 10 === 0 && slow[i / 10] ? [slow[i / 10]!, id] : [id]));
      await produce(s.topic, interleaved.map((id) => eventMessage(id)));
      await waitFor("every healthy receiver's delivery", () => s.receiver.receipts.length === 200, { timeoutMs: 60_000 });
      // Slow requests were in flight, and none was answered: the healthy deliveries did not wait behind them.
      expect(held.length).toBeGreaterThan(0);
      const [slowAttempts] = await s.sql`select count(*)::int as n from webhook_delivery_attempts a
                                         join webhook_deliveries d on d.id = a.delivery_id where d.url like '%/slow'`;
      expect(slowAttempts?.n).toBe(0);
      release();
      await waitFor("the slow deliveries too", async () => (await s.sentCount()) === 220, { timeoutMs: 60_000 });
      expect(slowReceiver.requests).toHaveLength(20);
    } finally {
      release();
      await slowReceiver.close();
    }
  }, 120_000);

  it("consumes from Kafka on Deno (deno task start) and delivers a webhook that verifies", async () => {
    const s = await start({ partitions: 1 });
    await s.spawn({}, "deno");
    const [jobId] = await s.addJobs(1);
    await produce(s.topic, [eventMessage(jobId!)]);
    await waitFor("the delivery to be sent", async () => (await s.sentCount()) === 1, { timeoutMs: 30_000 });
    expect(s.receiver.receipts[0]?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
  });
});

/**
 * Produces events for new jobs, 20 at a time, until stopped; `stop` resolves with every job
 * produced. The stream keeps at most about 200 events ahead of delivery, so it flows throughout
 * instead of being one backlog that the first member alone could drain.
 */
function streamEvents(s: KafkaScenario): { stop(): Promise<string[]> } {
  const produced: string[] = [];
  let stopping = false;
  const running = (async () => {
    while (!stopping) {
      await waitFor("delivery to catch up with the stream", async () => stopping || produced.length - (await s.sentCount()) < 200, { timeoutMs: 60_000 });
      if (stopping) break;
      const jobs = await s.addJobs(20);
      await produce(s.topic, jobs.map((id) => eventMessage(id)));
      produced.push(...jobs);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await running;
      return produced;
    },
  };
}

/** How many "delivery sent" lines a process logged. */
function sentLineCount(lines: readonly string[]): number {
  return lines.map(parseJson).filter((line) => line?.msg === "delivery sent").length;
}

/** How many partitions the process's latest group join assigned to it. */
function latestAssignment(lines: readonly string[]): number {
  const joins = lines.map(parseJson).filter((line) => line?.msg === "joined the consumer group");
  const last = joins.at(-1)?.assignment as Record<string, number[]> | undefined;
  return last ? Object.values(last).reduce((n, partitions) => n + partitions.length, 0) : 0;
}
