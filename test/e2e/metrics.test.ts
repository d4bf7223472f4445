import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type Reply, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { parseMetrics, promtoolMetricsProblems } from "../support/metrics-text.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(replies: (path: string, count: number) => Reply, env: Record<string, string> = {}) {
  const database = await createMigratedDatabase(cleanups);
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: replies });
  cleanups.push(() => receiver.close());
  const dispatcher = await startDispatcherProcess({
    env: { DATABASE_URL: database.url, POLL_INTERVAL: "100ms", WEBHOOK_RETRY_BASE_DELAY: "100ms", WEBHOOK_RETRY_JITTER: "0", ...env },
  });
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return { sql: database.sql, receiver, dispatcher };
}

/** Jobs finished with a webhook to `path`, and their outbox rows; returns the job ids. */
async function publishJobs(sql: postgres.Sql, receiver: SampleReceiver, path: string, count = 1): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(), '<story/>', ${receiver.url + path}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
  await sql`insert into webhook_outbox (job_id, event) select id, 'job.succeeded' from unnest(${ids}::uuid[]) as id`;
  return ids;
}

async function scrape(dispatcher: DispatcherProcess) {
  const response = await fetch(`http://127.0.0.1:${dispatcher.port}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, metrics: parseMetrics(text) };
}

describe("metrics of a running dispatcher", () => {
  it("after one sent, one retried then sent, one failed and one dead letter, each counter and histogram shows exactly those numbers", async () => {
    const replies: Record<string, (count: number) => Reply> = {
      "/ok": () => ({ status: 200 }),
      "/flaky": (count) => ({ status: count === 1 ? 500 : 200 }),
      "/gone": () => ({ status: 410 }),
    };
    const { sql, receiver, dispatcher } = await start((path, count) => replies[path]!(count));
    for (const path of Object.keys(replies)) await publishJobs(sql, receiver, path);
    await sql`insert into webhook_outbox (job_id, event) values (${randomUUID()}, 'job.succeeded')`;
    await waitFor("two deliveries sent, one failed and one dead letter", async () => {
      const [row] = await sql<{ sent: number; failed: number; letters: number }[]>`
        select (select count(*) from webhook_deliveries where status = 'sent')::int as sent,
               (select count(*) from webhook_deliveries where status = 'failed')::int as failed,
               (select count(*) from webhook_dead_letters)::int as letters`;
      return row!.sent === 2 && row!.failed === 1 && row!.letters === 1;
    });

    const { text, metrics } = await scrape(dispatcher);
    expect(promtoolMetricsProblems(text)).toEqual([]);
    expect(metrics.value("webhook_deliveries_total", { outcome: "sent" })).toBe(2);
    expect(metrics.value("webhook_deliveries_total", { outcome: "failed", reason: "http_4xx" })).toBe(1);
    expect(metrics.value("webhook_deliveries_total", { outcome: "failed", reason: "http_5xx" })).toBe(0);
    expect(metrics.value("webhook_attempts_total", { outcome: "sent", status_class: "2xx" })).toBe(2);
    expect(metrics.value("webhook_attempts_total", { outcome: "retry", status_class: "5xx" })).toBe(1);
    expect(metrics.value("webhook_attempts_total", { outcome: "failed", status_class: "4xx" })).toBe(1);
    expect(metrics.histogram("webhook_attempt_duration_seconds").count).toBe(4);
    expect(metrics.histogram("webhook_delivery_latency_seconds").count).toBe(2);
    expect(metrics.histogram("webhook_attempts_per_delivery", { outcome: "sent" })).toMatchObject({ count: 2, sum: 3 });
    expect(metrics.histogram("webhook_attempts_per_delivery", { outcome: "failed" })).toMatchObject({ count: 1, sum: 1 });
    expect(metrics.value("webhook_dead_letters_total", { source: "outbox", reason: "unknown_job" })).toBe(1);
    expect(metrics.value("webhook_attempts_in_flight")).toBe(0);
    expect(metrics.has("process_resident_memory_bytes")).toBe(true);
  }, 60_000);

  it("follows a backlog up and down: deliveries due and pending, the oldest one's age, attempts in flight", async () => {
    // Two slots; each attempt takes 12 s, longer than the 5 s between two reads of the backlog.
    const { sql, receiver, dispatcher } = await start(() => ({ status: 200, delayMs: 12_000 }), { DISPATCH_CONCURRENCY: "2", WEBHOOK_MAX_PER_DESTINATION: "2" });
    await publishJobs(sql, receiver, "/slow", 4);
    const up = await waitFor("two attempts in flight and two deliveries due, in one scrape", async () => {
      const { metrics } = await scrape(dispatcher);
      return metrics.value("webhook_attempts_in_flight") === 2 && metrics.value("webhook_deliveries_due") === 2 ? metrics : null;
    }, { timeoutMs: 11_000 });
    expect(up.value("webhook_deliveries_pending")).toBe(4);
    expect(up.value("webhook_oldest_due_delivery_age_seconds")).toBeGreaterThan(0);
    expect(up.value("webhook_outbox_unprocessed")).toBe(0);

    await waitFor("every delivery sent", async () => (await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent'`)[0]!.n === 4, { timeoutMs: 40_000 });
    const down = await waitFor("an empty backlog, in one scrape", async () => {
      const { metrics } = await scrape(dispatcher);
      return metrics.value("webhook_deliveries_pending") === 0 ? metrics : null;
    }, { timeoutMs: 10_000 });
    expect(down.value("webhook_deliveries_due")).toBe(0);
    expect(down.value("webhook_oldest_due_delivery_age_seconds")).toBe(0);
    expect(down.value("webhook_attempts_in_flight")).toBe(0);
    expect(down.value("webhook_deliveries_total", { outcome: "sent" })).toBe(4);
  }, 90_000);
});
