import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { produce } from "../support/kafka.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";
import { eventMessage, receiptsPerWebhook, startKafkaScenario, type KafkaScenario } from "../support/kafka-scenario.ts";

/** Old-space cap of the dispatcher: the four markups (256 MiB) cannot fit in it, nor one of them as text plus its JSON body. */
const SMALL_HEAP = { NODE_OPTIONS: "--max-old-space-size=160" };
/** A tsx-run dispatcher peaks near 170 MiB here; reading one 64 MiB markup costs three copies (socket bytes, text, JSON body). */
const PEAK_RSS_BOUND_MIB = 350;
const BIG_MARKUP_BYTES = 64 * 1024 * 1024;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface OutboxScenario {
  readonly sql: postgres.Sql;
  readonly receiver: SampleReceiver;
  spawn(env?: Record<string, string>): Promise<DispatcherProcess>;
}

/** A fresh migrated database and a receiver, for a dispatcher whose only input is the outbox. */
async function startOutboxScenario(): Promise<OutboxScenario> {
  const database = await createMigratedDatabase(cleanups);
  const { sql } = database;
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
  cleanups.push(() => receiver.close());
  return {
    sql,
    receiver,
    async spawn(env = {}) {
      const dispatcher = await startDispatcherProcess({ env: { DATABASE_URL: database.url, POLL_INTERVAL: "200ms", ...env } });
      cleanups.push(() => dispatcher.stop("SIGKILL"));
      return dispatcher;
    },
  };
}

async function startKafka(partitions: number): Promise<KafkaScenario> {
  const scenario = await startKafkaScenario({ partitions });
  cleanups.push(() => scenario.cleanup());
  return scenario;
}

type Queryable = postgres.Sql | postgres.TransactionSql;

/** Jobs of `markupBytes` each, built by Postgres so this process never holds them (md5 hex: nothing to escape in JSON). */
async function insertJobs(sql: Queryable, url: string, count: number, markupBytes = 0): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(),
                   case when ${markupBytes}::int = 0 then '<story/>' else repeat(md5(id::text), ${markupBytes}::int / 32) end,
                   ${url}, ${TEST_SECRET}
            from unnest(${ids}::uuid[]) as id`;
  return ids;
}

/** Puts one outbox row per job on the outbox, in the order given, with `traceOf`'s trace id. */
async function insertOutboxRows(sql: Queryable, ids: readonly string[], traceOf = (id: string) => `trace-${id}`): Promise<void> {
  await sql`insert into webhook_outbox (job_id, event, trace_id)
            select id, 'job.succeeded', trace from unnest(${ids}::uuid[], ${ids.map(traceOf)}::text[]) with ordinality as t(id, trace, n)
            order by n`;
}

/** `small` with each of `big` put among them at even spacing, so every intake batch mixes both. */
function interleave(small: readonly string[], big: readonly string[]): string[] {
  const mixed = [...small];
  big.forEach((id, k) => mixed.splice(Math.floor(((k + 0.5) * small.length) / big.length) + k, 0, id));
  return mixed;
}

async function countByStatus(sql: postgres.Sql): Promise<Record<string, number>> {
  const rows = await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from webhook_deliveries group by status`;
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** The node process that runs `src/main.ts`: the spawned process itself, or a descendant if a wrapper started it. */
function dispatcherNodePid(rootPid: number): number {
  const queue = [rootPid];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (/node[^/]*$/.test(readlinkSync(`/proc/${pid}/exe`)) && command.some((arg) => arg.endsWith("src/main.ts"))) return pid;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (children) queue.push(...children.split(" ").map(Number));
    }
  }
  throw new Error(`no node process running src/main.ts under pid ${rootPid}`);
}

/** Peak resident set size of `pid` so far (VmHWM), MiB. */
function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmHWM:"));
  const kiB = Number(/(\d+)\s*kB/.exec(line ?? "")?.[1]);
  if (!Number.isFinite(kiB)) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return kiB / 1024;
}

/** Rejects as soon as the dispatcher exits (say, out of memory), so a wait on it fails at once. */
function failureOnExit(dispatcher: DispatcherProcess): Promise<never> {
  const failure = dispatcher.exited.then((code) => {
    throw new Error(`the dispatcher exited with ${code}:\n${dispatcher.lines.slice(-20).join("\n")}`);
  });
  failure.catch(() => {}); // it also exits, by SIGKILL, in the clean-up after a passing test
  return failure;
}

function isAlive(dispatcher: DispatcherProcess): boolean {
  return dispatcher.child.exitCode === null && dispatcher.child.signalCode === null;
}

/**
 * The shared outcome of the oversized scenarios: every small job delivered once, verified; every
 * big one failed with payload_too_large and never sent; the dispatcher alive and its memory bounded.
 */
async function expectOversizedFailedAndTheRestDelivered(
  sql: postgres.Sql,
  receiver: SampleReceiver,
  dispatcher: DispatcherProcess,
  small: readonly string[],
  big: readonly string[],
): Promise<void> {
  await Promise.race([
    waitFor(`${small.length} sent and ${big.length} failed`, async () => {
      const counts = await countByStatus(sql);
      return counts["sent"] === small.length && counts["failed"] === big.length;
    }, { timeoutMs: 40_000, intervalMs: 200 }),
    failureOnExit(dispatcher),
  ]);

  const perWebhook = receiptsPerWebhook(receiver);
  expect(receiver.receipts).toHaveLength(small.length);
  expect(perWebhook.size).toBe(small.length);
  expect([...perWebhook.values()].every((n) => n === 1)).toBe(true);
  expect(receiver.receipts.every((r) => r.path === "/hook" && r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
  const deliveredJobs = new Set(receiver.receipts.map((r) => (JSON.parse(r.body.toString()) as { job_id: string }).job_id));
  expect([...deliveredJobs].sort()).toEqual([...small].sort());

  const failed = await sql<{ job_id: string; attempts: number; last_error: string | null; payload_bytes: number; attempt_rows: number }[]>`
    select d.job_id, d.attempts, d.last_error, octet_length(d.payload) as payload_bytes,
           (select count(*)::int from webhook_delivery_attempts a where a.delivery_id = d.id) as attempt_rows
    from webhook_deliveries d where d.status = 'failed'`;
  expect(failed.map((row) => row.job_id).sort()).toEqual([...big].sort());
  for (const row of failed) {
    expect(row).toMatchObject({ attempts: 0, attempt_rows: 0 });
    expect(row.last_error).toMatch(/^payload_too_large/);
    expect(row.payload_bytes).toBeLessThan(1024);
  }
  // The markups are still in Postgres, whole.
  const [kept] = await sql<{ n: number }[]>`select count(*)::int as n from jobs where octet_length(output_markup) = ${BIG_MARKUP_BYTES}`;
  expect(kept?.n).toBe(big.length);

  expect(isAlive(dispatcher)).toBe(true);
  expect(peakRssMiB(dispatcherNodePid(dispatcher.child.pid!))).toBeLessThan(PEAK_RSS_BOUND_MIB);
}

describe("oversized webhook bodies", () => {
  it("fails four jobs with 64 MiB markups as payload_too_large without sending them or reading them into memory, and delivers the 200 outbox events committed with them", async () => {
    const s = await startOutboxScenario();
    const dispatcher = await s.spawn(SMALL_HEAP);
    const { small, big } = await s.sql.begin(async (tx) => {
      const small = await insertJobs(tx, `${s.receiver.url}/hook`, 200);
      const big = await insertJobs(tx, `${s.receiver.url}/big`, 4, BIG_MARKUP_BYTES);
      await insertOutboxRows(tx, interleave(small, big));
      return { small, big };
    });
    await expectOversizedFailedAndTheRestDelivered(s.sql, s.receiver, dispatcher, small, big);
  });

  it("fails four jobs with 64 MiB markups as payload_too_large without sending them or reading them into memory, and delivers the 200 Kafka events produced with them", async () => {
    const s = await startKafka(2);
    const dispatcher = await s.spawn(SMALL_HEAP);
    const small = await s.addJobs(200);
    const big = await insertJobs(s.sql, `${s.receiver.url}/big`, 4, BIG_MARKUP_BYTES);
    await produce(s.topic, interleave(small, big).map((id) => eventMessage(id)));
    await expectOversizedFailedAndTheRestDelivered(s.sql, s.receiver, dispatcher, small, big);
  });
});

describe("rows the database refuses", () => {
  it("dead-letters the one outbox row of a batch that a constraint refuses, marks it processed, and delivers the other 49", async () => {
    const s = await startOutboxScenario();
    await s.spawn();
    // What a DBA's constraint would do; added after the dispatcher ran its migrations.
    await s.sql`alter table webhook_deliveries add constraint refuse_marked_trace check (trace_id is distinct from 'refuse-me')`;
    const ids = await s.sql.begin(async (tx) => {
      const ids = await insertJobs(tx, `${s.receiver.url}/hook`, 50);
      await insertOutboxRows(tx, ids, (id) => (id === ids[20] ? "refuse-me" : `trace-${id}`));
      return ids;
    });
    const refused = ids[20]!;
    await waitFor("49 sent and one dead letter", async () => {
      const [letters] = await s.sql<{ n: number }[]>`select count(*)::int as n from webhook_dead_letters`;
      return (await countByStatus(s.sql))["sent"] === 49 && letters?.n === 1;
    }, { timeoutMs: 30_000, intervalMs: 100 });

    const [letter, ...more] = await s.sql<{ source: string; reason: string; job_id: string }[]>`
      select source, reason, job_id from webhook_dead_letters`;
    expect(more).toHaveLength(0);
    expect(letter).toMatchObject({ source: "outbox", job_id: refused });
    expect(letter?.reason).toMatch(/^refused_by_database/);
    expect(letter?.reason).toContain("23514");
    expect(await s.sql`select 1 from webhook_deliveries where job_id = ${refused}`).toHaveLength(0);
    const [outboxRow] = await s.sql<{ processed: boolean }[]>`select processed_at is not null as processed from webhook_outbox where job_id = ${refused}`;
    expect(outboxRow?.processed).toBe(true);

    // A later event is delivered, and the refused row was not taken again on the way.
    const [later] = await s.sql.begin(async (tx) => {
      const later = await insertJobs(tx, `${s.receiver.url}/hook`, 1);
      await insertOutboxRows(tx, later);
      return later;
    });
    await waitFor("the later event's delivery", async () => (await countByStatus(s.sql))["sent"] === 50, { timeoutMs: 15_000 });
    expect(await s.sql`select 1 from webhook_dead_letters`).toHaveLength(1);
    expect(await s.sql`select 1 from webhook_outbox where processed_at is null`).toHaveLength(0);
    const perWebhook = receiptsPerWebhook(s.receiver);
    expect(s.receiver.receipts).toHaveLength(50);
    expect(perWebhook.size).toBe(50);
    const delivered = new Set(s.receiver.receipts.map((r) => (JSON.parse(r.body.toString()) as { job_id: string }).job_id));
    expect(delivered).toEqual(new Set([...ids.filter((id) => id !== refused), later!]));
  });

  it("dead-letters a Kafka message whose trace_id holds a NUL character with its coordinates and bytes, and delivers every other message of the partition once", async () => {
    const s = await startKafka(1);
    await s.spawn();
    const ids = await s.addJobs(51);
    const poisoned = ids[25]!;
    const poisonValue = JSON.stringify({ job_id: poisoned, event: "job.succeeded", trace_id: "a\u0000b" });
    await produce(s.topic, ids.map((id) => (id === poisoned ? { key: id, value: poisonValue } : eventMessage(id))));
    await waitFor("50 sent and one dead letter", async () => {
      const [letters] = await s.sql<{ n: number }[]>`select count(*)::int as n from webhook_dead_letters`;
      return (await s.sentCount()) === 50 && letters?.n === 1;
    }, { timeoutMs: 30_000, intervalMs: 100 });

    const [letter] = await s.sql<{ source: string; reason: string; job_id: string; topic: string; kafka_partition: number; kafka_offset: string; raw: Buffer | null }[]>`
      select source, reason, job_id, topic, kafka_partition, kafka_offset, raw from webhook_dead_letters`;
    expect(letter).toMatchObject({ source: "kafka", job_id: poisoned, topic: s.topic, kafka_partition: 0, kafka_offset: "25" });
    expect(letter?.reason).toMatch(/^refused_by_database/);
    expect(letter?.reason).toMatch(/22P05|22021/);
    expect(letter?.raw?.equals(Buffer.from(poisonValue))).toBe(true);
    expect(await s.sql`select 1 from webhook_deliveries where job_id = ${poisoned}`).toHaveLength(0);

    // Messages produced after it on the same partition go through, and it is not dead-lettered twice.
    const later = await s.addJobs(5);
    await produce(s.topic, later.map((id) => eventMessage(id)));
    await waitFor("the later messages' deliveries", async () => (await s.sentCount()) === 55, { timeoutMs: 15_000 });
    expect(await s.sql`select 1 from webhook_dead_letters`).toHaveLength(1);
    const perWebhook = receiptsPerWebhook(s.receiver);
    expect(s.receiver.receipts).toHaveLength(55);
    expect(perWebhook.size).toBe(55);
    const delivered = new Set(s.receiver.receipts.map((r) => (JSON.parse(r.body.toString()) as { job_id: string }).job_id));
    expect(delivered).toEqual(new Set([...ids.filter((id) => id !== poisoned), ...later]));
  });
});
