import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { parseJson, startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SHUTDOWN_TIMEOUT_MS = 2_000;
/** What every test here allows from the signal to the last process gone. */
const STOP_DEADLINE_MS = SHUTDOWN_TIMEOUT_MS + 2_000;

const env = (url: string) => ({ DATABASE_URL: url, POLL_INTERVAL: "100ms", WEBHOOK_TIMEOUT: "120s", SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms` });

async function spawn(url: string): Promise<DispatcherProcess> {
  const dispatcher = await startDispatcherProcess({ env: env(url) });
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return dispatcher;
}

async function publishJobs(sql: postgres.Sql, receiver: SampleReceiver, count: number): Promise<void> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(), '<story/>', ${receiver.url + "/hook"}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
  await sql`insert into webhook_outbox (job_id, event, trace_id) select id, 'job.succeeded', 't' from unnest(${ids}::uuid[]) as id`;
}

/** A database, a receiver that holds every request until `answer()` is called, and a dispatcher with three attempts hanging on it. */
async function threeAttemptsHanging() {
  const database = await createMigratedDatabase(cleanups);
  let hang = true;
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => (hang ? { status: 200, delayMs: 600_000 } : { status: 200 }) });
  cleanups.push(() => receiver.close());
  const dispatcher = await spawn(database.url);
  await publishJobs(database.sql, receiver, 3);
  await waitFor("three attempts hanging at the receiver", () => receiver.receipts.length === 3);
  return { database, dispatcher, answer: () => (hang = false) };
}

/** Every lease given back, no attempt spent, due now; then a new process sends all three without waiting for a lease to expire. */
async function expectLeasesBackAndSentByANewProcess(database: { url: string; sql: postgres.Sql }, answer: () => void): Promise<void> {
  const rows = await database.sql<{ status: string; attempts: number; leased: boolean; due: boolean }[]>`
    select status, attempts, lease_token is not null as leased, next_attempt_at <= now() as due from webhook_deliveries`;
  expect(rows).toEqual(Array.from({ length: 3 }, () => ({ status: "pending", attempts: 0, leased: false, due: true })));

  answer();
  await spawn(database.url);
  await waitFor("the three deliveries sent by the new process, without waiting for a lease to expire", async () => {
    const [row] = await database.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent' and attempts = 1`;
    return row!.n === 3;
  }, { timeoutMs: 15_000 });
}

describe("shutdown", () => {
  it("with attempts hanging on a receiver, SIGTERM ends the process within SHUTDOWN_TIMEOUT + 2 s, spends no attempt, and a new process sends them again at once", async () => {
    const { database, dispatcher, answer } = await threeAttemptsHanging();
    const stoppedAt = performance.now();
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(STOP_DEADLINE_MS);
    await expectLeasesBackAndSentByANewProcess(database, answer);
  }, 90_000);

  it("a second SIGTERM during the drain does not end the process before it gives the leases back", async () => {
    const { database, dispatcher, answer } = await threeAttemptsHanging();
    const stoppedAt = performance.now();
    dispatcher.child.kill("SIGTERM");
    await waitFor("the shutdown to begin", () => dispatcher.lines.map(parseJson).some((line) => String(line?.msg).startsWith("shutting down")));
    dispatcher.child.kill("SIGTERM");
    dispatcher.child.kill("SIGINT");
    expect(await dispatcher.exited).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(STOP_DEADLINE_MS);
    await expectLeasesBackAndSentByANewProcess(database, answer);
  }, 90_000);
});
