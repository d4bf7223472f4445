import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { pruneDeadLetters } from "../../src/adapters/postgres/sql/prune-dead-letters.ts";
import { pruneDeliveries } from "../../src/adapters/postgres/sql/prune-deliveries.ts";
import { pruneOutbox } from "../../src/adapters/postgres/sql/prune-outbox.ts";
import { parseJson, startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Where the seeded rows point; nothing listens there, and nothing is sent to it. */
const OLD_URL = "http://127.0.0.1:9/old";
/** How many of each the seed makes; deliveries have two attempts each, every tenth an operator action. */
const OLD = { finished: 40_000, outbox: 20_000, deadLetters: 5_000, pending: 500, recentlyChanged: 200 } as const;
/** The runner's batch (`PRUNE_BATCH` in src/app/wire.ts). */
const BATCH = 1_000;

async function spawn(url: string): Promise<DispatcherProcess> {
  const dispatcher = await startDispatcherProcess({
    env: { DATABASE_URL: url, POLL_INTERVAL: "100ms", RETENTION_PERIOD: "1h", OUTBOX_RETENTION: "1h", ADMIN_TOKEN: "retention-test-token-0123456789" },
  });
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return dispatcher;
}

/**
 * Rows three days old: finished deliveries with their attempts and actions, processed outbox rows
 * and dead letters, all past a 1 h retention; and what must stay: old pending deliveries (not
 * due for a day, so nothing sends them meanwhile) with their attempts and actions, and old
 * finished ones an operator changed ten minutes ago.
 */
async function seedOldRows(sql: postgres.Sql): Promise<void> {
  const old = sql`now() - interval '3 days'`;
  await sql`
    insert into webhook_deliveries (id, job_id, event, url, status, attempts, last_attempt_at, created_at, webhook_id, payload, next_attempt_at, updated_at)
    select gen_random_uuid(), gen_random_uuid(), 'job.succeeded', ${OLD_URL},
           case when i <= ${OLD.finished} then (case when i % 5 = 0 then 'failed' else 'sent' end) else 'pending' end,
           2, ${old}, ${old} - i * interval '1 second', 'msg_old_' || i, convert_to(repeat('x', 2000), 'utf8'),
           case when i <= ${OLD.finished} then null else now() + interval '1 day' end, ${old}
    from generate_series(1, ${OLD.finished + OLD.pending}) as i`;
  await sql`
    update webhook_deliveries set updated_at = now() - interval '10 minutes'
    where id in (select id from webhook_deliveries where status = 'sent' limit ${OLD.recentlyChanged})`;
  await sql`
    insert into webhook_delivery_attempts (delivery_id, attempt_number, started_at, duration_ms, status_code, response_body, outcome)
    select id, n, ${old}, 12, case when n = 1 then 500 else 200 end, repeat('r', 200), case when n = 1 then 'retry' else 'sent' end
    from webhook_deliveries cross join generate_series(1, 2) as n`;
  await sql`
    insert into webhook_operator_actions (delivery_id, action, result, created_at)
    select id, 'retry', 'redriven', ${old} from webhook_deliveries where webhook_id like '%0'`;
  await sql`
    insert into webhook_outbox (job_id, event, trace_id, created_at, processed_at)
    select gen_random_uuid(), 'job.succeeded', 't', ${old}, ${old} from generate_series(1, ${OLD.outbox})`;
  await sql`
    insert into webhook_dead_letters (source, reason, job_id, event, created_at)
    select 'outbox', 'job_not_found', gen_random_uuid()::text, 'job.succeeded', ${old} from generate_series(1, ${OLD.deadLetters})`;
  await sql`vacuum analyze`;
}

/**
 * How long one round of the runner's statements (a batch of each kind) takes on the seeded
 * database, ms: each run in a transaction that is rolled back, so nothing is deleted. The longest
 * of three, the first of which finds the pages cold.
 */
async function timeOnePruneRound(sql: postgres.Sql): Promise<number> {
  const before = new Date(Date.now() - 3_600_000);
  let longest = 0;
  for (let i = 0; i < 3; i++) {
    const startedAt = performance.now();
    await sql
      .begin(async (tx) => {
        expect(await pruneDeliveries(tx, { before, limit: BATCH })).toBe(BATCH);
        expect(await pruneOutbox(tx, { before, limit: BATCH })).toBe(BATCH);
        expect(await pruneDeadLetters(tx, { before, limit: BATCH })).toBe(BATCH);
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
    longest = Math.max(longest, performance.now() - startedAt);
  }
  return longest;
}

class RolledBack extends Error {}

/** Counts of what the seed made, as they stand now. */
async function oldRowsLeft(sql: postgres.Sql) {
  const [row] = await sql<{ finished: number; kept: number; pending: number; attempts: number; actions: number; outbox: number; dead_letters: number }[]>`
    select (select count(*)::int from webhook_deliveries where url = ${OLD_URL} and status <> 'pending' and updated_at < now() - interval '1 day') as finished,
           (select count(*)::int from webhook_deliveries where url = ${OLD_URL} and status <> 'pending' and updated_at > now() - interval '1 day') as kept,
           (select count(*)::int from webhook_deliveries where url = ${OLD_URL} and status = 'pending' and attempts = 2) as pending,
           (select count(*)::int from webhook_delivery_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.url = ${OLD_URL}) as attempts,
           (select count(*)::int from webhook_operator_actions) as actions,
           (select count(*)::int from webhook_outbox where created_at < now() - interval '1 day') as outbox,
           (select count(*)::int from webhook_dead_letters) as dead_letters`;
  return row!;
}

/** Puts `count` finished jobs and their outbox events in, as the platform does. */
async function publishJobs(sql: postgres.Sql, receiver: SampleReceiver, count: number): Promise<void> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(), '<story/>', ${receiver.url + "/hook"}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
  await sql`insert into webhook_outbox (job_id, event, trace_id) select id, 'job.succeeded', 't' from unnest(${ids}::uuid[]) as id`;
}

/** Publishes 5 jobs every 100 ms (50 a second) until `stop` is called; resolves how many it published. */
function publishSteadily(sql: postgres.Sql, receiver: SampleReceiver): { stop(): Promise<number> } {
  let stopped = false;
  let published = 0;
  const running = (async () => {
    for (let next = performance.now(); !stopped; next += 100) {
      await publishJobs(sql, receiver, 5);
      published += 5;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next + 100 - performance.now())));
    }
    return published;
  })();
  return {
    stop: () => {
      stopped = true;
      return running;
    },
  };
}

/** The "old rows pruned" lines of a process: when each round ended, what it deleted and how long it took. */
function pruneRounds(dispatcher: DispatcherProcess) {
  return dispatcher.lines
    .map(parseJson)
    .filter((line) => line?.msg === "old rows pruned")
    .map((line) => ({
      endedAt: Date.parse(line!.time as string),
      deliveries: line!.deliveries as number,
      outbox: line!.outbox as number,
      deadLetters: line!.deadLetters as number,
      durationMs: line!.duration_ms as number,
    }));
}

/** What the processes' logs say they deleted, per kind. */
function prunedBy(processes: readonly DispatcherProcess[]): { deliveries: number; outbox: number; deadLetters: number } {
  const rounds = processes.flatMap(pruneRounds);
  const total = (kind: "deliveries" | "outbox" | "deadLetters") => rounds.reduce((sum, round) => sum + round[kind], 0);
  return { deliveries: total("deliveries"), outbox: total("outbox"), deadLetters: total("deadLetters") };
}

/** What the seed put past its retention. */
const PAST_RETENTION = { deliveries: OLD.finished - OLD.recentlyChanged, outbox: OLD.outbox, deadLetters: OLD.deadLetters };

/** Waits (on the logs, so as not to load the database meanwhile) until the processes have deleted at least everything past its retention. */
async function prunedEverything(processes: readonly DispatcherProcess[]): Promise<void> {
  await waitFor("the logs to account for every row past its retention", () => {
    const pruned = prunedBy(processes);
    return pruned.deliveries >= PAST_RETENTION.deliveries && pruned.outbox >= PAST_RETENTION.outbox && pruned.deadLetters >= PAST_RETENTION.deadLetters;
  }, { timeoutMs: 60_000, intervalMs: 100 });
}

function complaintsOf(dispatcher: DispatcherProcess): string[] {
  return dispatcher.lines.filter((line) => ["warn", "error"].includes(String(parseJson(line)?.level)) || parseJson(line) === null);
}

/**
 * For the new deliveries created between `from` and `until` (epoch ms): how many, and the worst
 * wait for their first attempt, ms, counted from the delivery's creation and from its event's.
 */
async function latenciesWhile(sql: postgres.Sql, receiver: SampleReceiver, from: number, until: number) {
  const [row] = await sql<{ deliveries: number; worst_from_creation: number; worst_from_event: number }[]>`
    select count(*)::int as deliveries,
           max(extract(epoch from a.started_at - d.created_at) * 1000)::float8 as worst_from_creation,
           max(extract(epoch from a.started_at - o.created_at) * 1000)::float8 as worst_from_event
    from webhook_deliveries d
    join webhook_delivery_attempts a on a.delivery_id = d.id and a.attempt_number = 1
    join webhook_outbox o on o.job_id = d.job_id
    where d.url = ${receiver.url + "/hook"} and d.created_at between ${new Date(from)} and ${new Date(until)}`;
  return { deliveries: row!.deliveries, worstFromCreation: row!.worst_from_creation, worstFromEvent: row!.worst_from_event };
}

/** Every seeded row that was past its retention is gone, and everything else the seed made is there. */
async function expectOnlyOldFinishedRowsDeleted(sql: postgres.Sql): Promise<void> {
  expect(await oldRowsLeft(sql)).toEqual({
    finished: 0,
    kept: OLD.recentlyChanged,
    pending: OLD.pending,
    // Two per delivery kept; an action for every tenth of those (webhook ids ending in 0) and of nothing else.
    attempts: 2 * (OLD.recentlyChanged + OLD.pending),
    actions: (await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where url = ${OLD_URL} and webhook_id like '%0'`)[0]!.n,
    outbox: 0,
    dead_letters: 0,
  });
}

describe("retention", () => {
  it("prunes 40,000 old finished deliveries with their attempts and actions, old outbox rows and dead letters, and keeps pending ones, while new deliveries flow at 50 a second, none delayed by more than one round of pruning", async () => {
    const database = await createMigratedDatabase(cleanups);
    const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());
    await seedOldRows(database.sql);
    const oneRound = await timeOnePruneRound(database.sql);

    const dispatcher = await spawn(database.url);
    const stream = publishSteadily(database.sql, receiver);
    await prunedEverything([dispatcher]);
    const published = await stream.stop();

    await waitFor(`all ${published} new deliveries sent`, async () => {
      const [row] = await database.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where url = ${receiver.url + "/hook"} and status = 'sent'`;
      return row!.n === published;
    });
    await expectOnlyOldFinishedRowsDeleted(database.sql);
    expect(complaintsOf(dispatcher)).toEqual([]);

    const rounds = pruneRounds(dispatcher);
    const latencies = await latenciesWhile(database.sql, receiver, rounds[0]!.endedAt - rounds[0]!.durationMs, rounds.at(-1)!.endedAt);
    const summary = { oneRound, rounds: rounds.length, longestLoggedRound: Math.max(...rounds.map((round) => round.durationMs)), ...latencies };
    // Enough of the stream overlapped the pruning for the bound to mean something.
    expect(latencies.deliveries, JSON.stringify(summary)).toBeGreaterThanOrEqual(50);
    // A delivery waits for at most one round's statements, plus the scheduling a loaded 2-core machine adds...
    expect(latencies.worstFromCreation, JSON.stringify(summary)).toBeLessThan(300 + oneRound);
    // ...and an event for that and the outbox poller's sleep (POLL_INTERVAL).
    expect(latencies.worstFromEvent, JSON.stringify(summary)).toBeLessThan(300 + oneRound + 100);
  }, 120_000);

  it("two processes pruning the same database at once delete every old row exactly once, without an error", async () => {
    const database = await createMigratedDatabase(cleanups);
    await seedOldRows(database.sql);

    const processes = await Promise.all([spawn(database.url), spawn(database.url)]);
    await prunedEverything(processes);

    await expectOnlyOldFinishedRowsDeleted(database.sql);
    // Each row once: what the two logs say they deleted adds up to what there was, no more.
    expect(prunedBy(processes)).toEqual(PAST_RETENTION);
    // Both took part: the deliveries alone are 40 batches.
    for (const dispatcher of processes) expect(prunedBy([dispatcher]).deliveries).toBeGreaterThan(0);
    for (const dispatcher of processes) expect(complaintsOf(dispatcher)).toEqual([]);
  }, 120_000);
});
