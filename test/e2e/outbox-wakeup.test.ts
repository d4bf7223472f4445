import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** One job and its outbox row, committed by this test's connection: another process than the dispatcher. Returns when it was committed. */
async function commitJob(sql: postgres.Sql, receiver: SampleReceiver): Promise<number> {
  const id = randomUUID();
  await sql.begin(async (tx) => {
    await tx`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
             values (${id}, 'succeeded', now(), '<story/>', ${receiver.url + "/hook"}, ${TEST_SECRET})`;
    await tx`insert into webhook_outbox (job_id, event) values (${id}, 'job.succeeded')`;
  });
  return performance.now();
}

describe("outbox rows committed by another process", () => {
  it("are delivered at once, not at the next poll, and again after the listening connection was cut", async () => {
    const { url, sql } = await createMigratedDatabase(cleanups);
    const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());
    // A poll a minute: a row found sooner than that was found because the commit woke the dispatcher.
    const dispatcher = await startDispatcherProcess({ env: { DATABASE_URL: url, POLL_INTERVAL: "60s" } });
    cleanups.push(() => dispatcher.stop("SIGKILL"));
    await waitFor("the dispatcher listening", async () => (await listeners(sql)) === 1);

    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const committedAt = await commitJob(sql, receiver);
      await waitFor("the webhook", () => receiver.receipts.length === i + 1, { timeoutMs: 5_000 });
      latencies.push(performance.now() - committedAt);
    }
    expect(Math.max(...latencies)).toBeLessThan(2_000);

    await sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
    await waitFor("the dispatcher listening again", async () => (await listeners(sql)) === 1, { timeoutMs: 20_000 });
    const committedAt = await commitJob(sql, receiver);
    await waitFor("the webhook of a row committed after the reconnection", () => receiver.receipts.length === 6, { timeoutMs: 5_000 });
    expect(performance.now() - committedAt).toBeLessThan(2_000);
  }, 60_000);
});

/** Sessions of this database listening for outbox rows. */
async function listeners(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen%'`;
  return row!.n;
}
