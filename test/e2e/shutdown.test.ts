import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { parseJson, startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { processesInGroup, signalGroup, type GroupMember } from "../support/process-group.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SHUTDOWN_TIMEOUT_MS = 2_000;
/** What every test here allows from the signal to the last process gone. */
const STOP_DEADLINE_MS = SHUTDOWN_TIMEOUT_MS + 2_000;

const env = (url: string) => ({ DATABASE_URL: url, POLL_INTERVAL: "100ms", WEBHOOK_TIMEOUT: "120s", SHUTDOWN_TIMEOUT: `${SHUTDOWN_TIMEOUT_MS}ms` });

async function spawn(url: string, runtime: "node" | "npm-start" = "node"): Promise<DispatcherProcess> {
  const dispatcher = await startDispatcherProcess({ env: env(url), runtime });
  const pgid = dispatcher.child.pid!;
  // The whole group: under npm start, npm may be gone while the dispatcher it started is not.
  cleanups.push(async () => {
    if ((await processesInGroup(pgid)).length > 0) signalGroup(pgid, "SIGKILL");
  });
  return dispatcher;
}

async function publishJobs(sql: postgres.Sql, receiver: SampleReceiver, count: number): Promise<void> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(), '<story/>', ${receiver.url + "/hook"}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
  await sql`insert into webhook_outbox (job_id, event, trace_id) select id, 'job.succeeded', 't' from unnest(${ids}::uuid[]) as id`;
}

/** A database, a receiver that holds every request until `answer()` is called, and a dispatcher with three attempts hanging on it. */
async function threeAttemptsHanging(runtime: "node" | "npm-start") {
  const database = await createMigratedDatabase(cleanups);
  let hang = true;
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => (hang ? { status: 200, delayMs: 600_000 } : { status: 200 }) });
  cleanups.push(() => receiver.close());
  const dispatcher = await spawn(database.url, runtime);
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

/** Waits until no process of the group is left and returns how long that took from `since`, ms; fails naming the survivors. */
async function groupEnded(pgid: number, since: number): Promise<number> {
  let survivors: GroupMember[] = [];
  await waitFor("every process of the group to end", async () => (survivors = await processesInGroup(pgid)).length === 0, {
    timeoutMs: STOP_DEADLINE_MS * 3,
  }).catch((error: Error) => {
    throw new Error(`${error.message}; still running: ${JSON.stringify(survivors)}`);
  });
  return performance.now() - since;
}

/**
 * `npm start` behind a terminal or a container: `to` is who gets the signal (the whole process
 * group as from Ctrl-C, or npm alone as a container stop sends it to its first process), and
 * `reader` whether anyone still reads the output.
 */
async function stopNpmStart(options: { signal: "SIGTERM" | "SIGINT"; to: "group" | "npm"; reader: "reading" | "gone" }): Promise<void> {
  const { database, dispatcher, answer } = await threeAttemptsHanging("npm-start");
  const pgid = dispatcher.child.pid!;
  const members = await processesInGroup(pgid);
  expect(members.map((member) => member.command)).toContainEqual(expect.stringMatching(/node .*src\/main\.ts/));
  if (options.reader === "gone") {
    dispatcher.child.stdout?.destroy();
    dispatcher.child.stderr?.destroy();
  }

  const signalledAt = performance.now();
  process.kill(options.to === "group" ? -pgid : pgid, options.signal);
  expect(await groupEnded(pgid, signalledAt), `ms until every one of ${JSON.stringify(members)} ended`).toBeLessThan(STOP_DEADLINE_MS);
  // npm waits for the dispatcher it exec'd, and exits with its code.
  expect(await dispatcher.exited).toBe(0);
  if (options.reader === "reading") await waitFor("the dispatcher's last line", () => dispatcher.lines.map(parseJson).some((line) => line?.msg === "stopped"));
  await expectLeasesBackAndSentByANewProcess(database, answer);
}

describe("shutdown", () => {
  it("with attempts hanging on a receiver, SIGTERM ends the process within SHUTDOWN_TIMEOUT + 2 s, spends no attempt, and a new process sends them again at once", async () => {
    const { database, dispatcher, answer } = await threeAttemptsHanging("node");
    const stoppedAt = performance.now();
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
    expect(performance.now() - stoppedAt).toBeLessThan(STOP_DEADLINE_MS);
    await expectLeasesBackAndSentByANewProcess(database, answer);
  }, 90_000);

  it("a second SIGTERM during the drain does not end the process before it gives the leases back", async () => {
    const { database, dispatcher, answer } = await threeAttemptsHanging("node");
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

describe("shutdown through npm start", () => {
  it("SIGTERM to the process group of npm start ends every process within SHUTDOWN_TIMEOUT + 2 s and gives every lease back", async () => {
    await stopNpmStart({ signal: "SIGTERM", to: "group", reader: "reading" });
  }, 90_000);

  it("SIGINT (Ctrl-C) to the process group of npm start ends every process within SHUTDOWN_TIMEOUT + 2 s and gives every lease back", async () => {
    await stopNpmStart({ signal: "SIGINT", to: "group", reader: "reading" });
  }, 90_000);

  it("SIGTERM to npm alone, as a container stop sends it to the first process, ends every process within SHUTDOWN_TIMEOUT + 2 s and gives every lease back", async () => {
    await stopNpmStart({ signal: "SIGTERM", to: "npm", reader: "reading" });
  }, 90_000);

  it("when nothing reads its output any more (the terminal has gone), SIGTERM to the process group of npm start still gives every lease back", async () => {
    await stopNpmStart({ signal: "SIGTERM", to: "group", reader: "gone" });
  }, 90_000);
});
