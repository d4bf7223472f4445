import { afterEach, describe, expect, it } from "vitest";
import { produce, startBroker, stopBroker } from "../support/kafka.ts";
import { waitFor } from "../support/wait-for.ts";
import { eventMessage, receiptsPerWebhook, startKafkaScenario, type KafkaScenario } from "../support/kafka-scenario.ts";

let scenario: KafkaScenario | null = null;
afterEach(async () => {
  await scenario?.cleanup();
  scenario = null;
});

/** Every event has exactly one delivery row and at least one verified receipt; returns the receipts beyond the first. */
async function expectEachEventDeliveredOnce(s: KafkaScenario, events: number): Promise<number> {
  const [rows] = await s.sql`select count(*)::int as n, count(distinct (job_id, event))::int as distinct_events from webhook_deliveries`;
  expect(rows).toEqual({ n: events, distinct_events: events });
  const perWebhook = receiptsPerWebhook(s.receiver);
  expect(perWebhook.size).toBe(events);
  expect(s.receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
  return [...perWebhook.values()].reduce((extra, n) => extra + n - 1, 0);
}

describe("Kafka input under faults", () => {
  it("loses nothing when the dispatcher is killed with SIGKILL in the middle of a 5,000-event stream and started again", async () => {
    const s = (scenario = await startKafkaScenario({ partitions: 4 }));
    const concurrency = 16;
    const env = { DISPATCH_CONCURRENCY: String(concurrency), WEBHOOK_TIMEOUT: "2s" };
    const first = await s.spawn(env);
    const jobs = await s.addJobs(5000);
    const producing = (async () => {
      for (let i = 0; i < jobs.length; i += 500) await produce(s.topic, jobs.slice(i, i + 500).map((id) => eventMessage(id)));
    })();
    await waitFor("the stream to be under way", async () => (await s.sentCount()) >= 1000, { timeoutMs: 60_000 });
    expect(await first.stop("SIGKILL")).toBe("SIGKILL");
    await producing;

    await s.spawn(env);
    // Deliveries the killed process had leased come back when their lease (timeout + 30 s) expires.
    await waitFor("all 5,000 deliveries sent", async () => (await s.sentCount()) === 5000, { timeoutMs: 120_000 });
    const duplicates = await expectEachEventDeliveredOnce(s, 5000);
    expect(duplicates).toBeLessThanOrEqual(concurrency);
  }, 240_000);

  it("keeps running while the broker is stopped for 20 s, reports not ready, and consumes again when it returns", async () => {
    const s = (scenario = await startKafkaScenario({ partitions: 4 }));
    const dispatcher = await s.spawn();
    const jobs = await s.addJobs(1500);
    await produce(s.topic, jobs.slice(0, 1000).map((id) => eventMessage(id)));
    await waitFor("the stream to be under way", async () => (await s.sentCount()) >= 300, { timeoutMs: 60_000 });

    await stopBroker();
    const stoppedAt = Date.now();
    try {
      const readyz = await waitFor("/readyz to report the broker outage", async () => {
        const response = await fetch(`http://127.0.0.1:${dispatcher.port}/readyz`);
        return response.status === 503 ? ((await response.json()) as { reasons: string[] }) : null;
      }, { timeoutMs: 19_000, intervalMs: 250 });
      expect(readyz.reasons.some((reason) => reason.startsWith("kafka:"))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, 20_000 - (Date.now() - stoppedAt))));
      expect(dispatcher.child.exitCode).toBeNull();
    } finally {
      await startBroker();
    }

    await produce(s.topic, jobs.slice(1000).map((id) => eventMessage(id)));
    await waitFor("all 1,500 deliveries sent", async () => (await s.sentCount()) === 1500, { timeoutMs: 120_000 });
    await waitFor("/readyz to recover", async () => (await fetch(`http://127.0.0.1:${dispatcher.port}/readyz`)).status === 200, { timeoutMs: 30_000 });
    expect(await expectEachEventDeliveredOnce(s, 1500)).toBe(0);
    expect(dispatcher.child.exitCode).toBeNull();
  }, 240_000);
});
