/**
 * S5, claim cost: the time of one claim of 64 due deliveries — the exact statement the Postgres
 * adapter runs, through makeDeliveryStore — while 0, 100,000 and 1,000,000 other pending rows
 * wait hours away. Between claims the same 64 rows are made due again (the claim leases them).
 * At the largest size the statement is replayed under EXPLAIN (ANALYZE, BUFFERS), rolled back.
 */
import postgres from "postgres";
import { makeDeliveryStore } from "../../src/adapters/postgres/delivery-store.ts";
import { createDatabase, insertJobs, insertPendingDeliveries } from "../database.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { EVENT } from "../payload.ts";
import { median, round } from "../stats.ts";
import { PENDING_ROWS } from "./s4-memory.ts";

const DUE = 64;
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 30);
const WARM_UP_CLAIMS = 5;

export interface ClaimCostResult {
  /** Not-due rows → median ms of one claim of 64 due rows. */
  readonly medianMsByNotDue: Record<string, number>;
  readonly ratio: number;
  /** EXPLAIN (ANALYZE, BUFFERS) of the claim at the largest size. */
  readonly explain: string;
  readonly statement: string;
}

export async function runClaimCost(ctx: BenchContext): Promise<ClaimCostResult[]> {
  const sizes = [0, Math.min(100_000, PENDING_ROWS), PENDING_ROWS];
  return repeat(ctx, "S5 claim cost", 600_000, async (scope, kind) => {
    const database = await createDatabase(ctx.adminUrl, "s5", scope);
    // The claim's own client records what it sends, so EXPLAIN replays exactly that statement.
    let sent: Array<{ text: string; parameters: unknown[] }> = [];
    const claimSql = postgres(database.url, {
      max: 1,
      onnotice: () => {},
      debug: (_connection, text, parameters) => sent.push({ text, parameters }),
    });
    scope.defer("claim client", () => claimSql.end({ timeout: 2 }));
    const store = makeDeliveryStore(claimSql);
    const dueIds = await insertDue(database.sql, ctx);

    const medianMsByNotDue: Record<string, number> = {};
    let present = 0;
    let explain = "";
    let statement = "";
    for (const size of kind === "warm-up" ? [0] : sizes) {
      if (size > present) {
        await insertPendingDeliveries(database.sql, { count: size - present, dueInHours: 3, url: `${ctx.receiver.url}/ok` });
        present = size;
      }
      await database.sql`vacuum analyze webhook_deliveries`;
      const times: number[] = [];
      for (let i = 0; i < WARM_UP_CLAIMS + CLAIMS; i++) {
        await makeDue(database.sql, dueIds);
        sent = [];
        const started = performance.now();
        const claimed = await store.claimDueDeliveries({ now: new Date(), limit: DUE, leaseMs: 60_000 });
        const elapsed = performance.now() - started;
        if (claimed.length !== DUE) throw new Error(`claim returned ${claimed.length} deliveries, expected ${DUE}`);
        if (i >= WARM_UP_CLAIMS) times.push(elapsed);
      }
      medianMsByNotDue[String(size)] = round(median(times), 3);
      if (size === PENDING_ROWS) {
        const claim = sent.find((query) => /skip locked/i.test(query.text)) ?? sent.at(-1)!;
        statement = claim.text;
        await makeDue(database.sql, dueIds);
        explain = await explainRolledBack(database.sql, claim.text, claim.parameters);
      }
    }
    const ratio = round((medianMsByNotDue[String(PENDING_ROWS)] ?? NaN) / (medianMsByNotDue["0"] ?? NaN), 2);
    return { medianMsByNotDue, ratio, explain, statement };
  }, (r) => `${JSON.stringify(r.medianMsByNotDue)} ms, ratio ${r.ratio}`);
}

/** 64 finished jobs and their deliveries, due a minute ago. */
async function insertDue(sql: postgres.Sql, ctx: BenchContext): Promise<string[]> {
  const jobIds = await insertJobs(sql, { count: DUE, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
  const rows = await sql<{ id: string }[]>`
    insert into webhook_deliveries
      (id, webhook_id, job_id, event, url, payload, status, next_attempt_at, created_at, updated_at)
    select id, 'msg_' || replace(id::text, '-', ''), job_id, ${EVENT}, ${`${ctx.receiver.url}/ok`},
           convert_to('{"job_id":"' || job_id || '"}', 'UTF8'), 'pending', now() - interval '1 minute', now(), now()
    from (select gen_random_uuid() as id, job_id from unnest(${sql.array(jobIds)}::uuid[]) as t(job_id)) as s
    returning id`;
  return rows.map((row) => row.id);
}

/** Undoes the claim's lease so the same rows are due again. */
async function makeDue(sql: postgres.Sql, ids: string[]): Promise<void> {
  await sql`
    update webhook_deliveries
    set next_attempt_at = now() - interval '1 minute', locked_until = null, lease_token = null
    where id = any(${sql.array(ids)}::uuid[])`;
}

const ROLLBACK = new Error("rollback");

/** EXPLAIN ANALYZE runs the statement (and its update), so it runs in a transaction rolled back. */
async function explainRolledBack(sql: postgres.Sql, text: string, parameters: unknown[]): Promise<string> {
  let plan = "";
  await sql
    .begin(async (tx) => {
      const rows = await tx.unsafe(`explain (analyze, buffers) ${text}`, parameters as never[]);
      plan = rows.map((row) => String(row["QUERY PLAN"])).join("\n");
      throw ROLLBACK;
    })
    .catch((error: unknown) => {
      if (error !== ROLLBACK) throw error;
    });
  return plan;
}
