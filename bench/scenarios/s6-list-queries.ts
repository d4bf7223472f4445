/**
 * S6, finding deliveries: the p50 and p99 of one filtered page of `GET /v1/deliveries` (the exact
 * statement of the Postgres adapter, through makeDeliveryStore, 50 rows + 1) over 1,000,000
 * deliveries of 30 days: 96% sent, 3% failed, 1% pending; 70% of the traffic to one big customer,
 * the rest spread over 49 smaller ones; ids time-ordered as the dispatcher makes them (UUIDv7).
 * Each query shape runs with varied parameters (origins, job ids, windows); the slowest one is
 * replayed under EXPLAIN (ANALYZE, BUFFERS).
 */
import postgres from "postgres";
import { makeDeliveryStore } from "../../src/adapters/postgres/delivery-store.ts";
import type { DeliveryFilter } from "../../src/ports/delivery-store.ts";
import { createDatabase } from "../database.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { percentile, round } from "../stats.ts";

export const LIST_ROWS = Number(process.env.BENCH_LIST_ROWS ?? 1_000_000);
const QUERIES_PER_SHAPE = Number(process.env.BENCH_LIST_QUERIES ?? 200);
const PAGE = 50;
const DAY_MS = 86_400_000;
const SPAN_MS = 30 * DAY_MS;
const ORIGINS = 50;
const originOf = (n: number) => `https://hooks-${n}.customer.example`;

export interface ListQueryResult {
  readonly rows: number;
  /** Query shape → { p50, p99 } ms. */
  readonly msByShape: Record<string, { p50: number; p99: number }>;
  /** The worst p99 over all shapes, ms. */
  readonly worstP99Ms: number;
  readonly worstShape: string;
  readonly explain: string;
}

/** One page request: a filter and, for deep pages, how many pages to walk before the timed one. */
interface Shape {
  readonly name: string;
  readonly filter: (i: number, sample: Sample) => DeliveryFilter;
  readonly pagesBefore?: number;
}

interface Sample {
  readonly jobIds: readonly string[];
  readonly start: number;
}

const SHAPES: readonly Shape[] = [
  { name: "status=failed", filter: () => ({ status: "failed" }) },
  { name: "status=pending", filter: () => ({ status: "pending" }) },
  { name: "status=failed, small origin", filter: (i) => ({ status: "failed", origin: originOf(1 + (i % (ORIGINS - 1))) }) },
  { name: "small origin", filter: (i) => ({ origin: originOf(1 + (i % (ORIGINS - 1))) }) },
  { name: "big origin, 1-day window", filter: (i, s) => ({ origin: originOf(0), ...windowOf(s, i, DAY_MS) }) },
  { name: "job_id", filter: (i, s) => ({ jobId: s.jobIds[i % s.jobIds.length]! }) },
  { name: "status=failed, 1-day window", filter: (i, s) => ({ status: "failed", ...windowOf(s, i, DAY_MS) }) },
  { name: "event=job.failed, small origin, 7-day window", filter: (i, s) => ({ event: "job.failed", origin: originOf(1 + (i % (ORIGINS - 1))), ...windowOf(s, i, 7 * DAY_MS) }) },
  { name: "1-hour window", filter: (i, s) => windowOf(s, i, 3_600_000) },
  { name: "status=failed, page 20", filter: () => ({ status: "failed" }), pagesBefore: 19 },
];

/** A window of `length` ms at a varied place in the 30 days. */
function windowOf(sample: Sample, i: number, length: number): { createdAfter: Date; createdBefore: Date } {
  const offset = ((i * 7_919) % 997) / 997 * (SPAN_MS - length);
  return { createdAfter: new Date(sample.start + offset), createdBefore: new Date(sample.start + offset + length) };
}

export async function runListQueries(ctx: BenchContext): Promise<ListQueryResult[]> {
  return repeat(ctx, "S6 list queries", 1_800_000, async (scope, kind) => {
    const database = await createDatabase(ctx.adminUrl, "s6", scope);
    const rows = kind === "warm-up" ? Math.min(LIST_ROWS, 20_000) : LIST_ROWS;
    const start = Date.now() - SPAN_MS;
    await insertHistory(database.sql, rows, start);
    await database.sql`vacuum analyze webhook_deliveries`;
    const sample: Sample = { start, jobIds: (await database.sql<{ job_id: string }[]>`select job_id from webhook_deliveries tablesample system (1) limit 1000`).map((r) => r.job_id) };
    let sent: Array<{ text: string; parameters: unknown[] }> = [];
    const listSql = postgres(database.url, { max: 1, onnotice: () => {}, debug: (_c, text, parameters) => sent.push({ text, parameters }) });
    scope.defer("list client", () => listSql.end({ timeout: 2 }));
    const store = makeDeliveryStore(listSql);
    const msByShape: Record<string, { p50: number; p99: number }> = {};
    let worst = { shape: "", p99: -1, statement: { text: "", parameters: [] as unknown[] } };
    for (const shape of SHAPES) {
      const times: number[] = [];
      let slowest = { ms: -1, statement: { text: "", parameters: [] as unknown[] } };
      for (let i = 0; i < (kind === "warm-up" ? 10 : QUERIES_PER_SHAPE); i++) {
        const filter = shape.filter(i, sample);
        let beforeId: string | undefined;
        for (let page = 0; page < (shape.pagesBefore ?? 0); page++) {
          const rowsOfPage = await store.listDeliveries({ filter, limit: PAGE + 1, beforeId });
          beforeId = rowsOfPage[PAGE - 1]?.id ?? beforeId;
        }
        sent = [];
        const started = performance.now();
        await store.listDeliveries({ filter, limit: PAGE + 1, beforeId });
        const ms = performance.now() - started;
        times.push(ms);
        if (ms > slowest.ms) slowest = { ms, statement: sent.at(-1)! };
      }
      const p99 = round(percentile(times, 0.99), 2);
      msByShape[shape.name] = { p50: round(percentile(times, 0.5), 2), p99 };
      if (p99 > worst.p99) worst = { shape: shape.name, p99, statement: slowest.statement };
    }
    const explain = await explainOf(database.sql, worst.statement);
    return { rows, msByShape, worstP99Ms: worst.p99, worstShape: worst.shape, explain };
  }, (r) => `worst p99 ${r.worstP99Ms} ms (${r.worstShape}) over ${r.rows} deliveries`);
}

/**
 * `rows` deliveries created over 30 days from `start`, in creation order, with ids time-ordered
 * like UUIDv7: the first 48 bits are the creation time in ms.
 */
async function insertHistory(sql: postgres.Sql, rows: number, start: number): Promise<void> {
  await sql`
    insert into webhook_deliveries
      (id, webhook_id, job_id, event, url, payload, status, attempts, last_error, next_attempt_at, created_at, updated_at)
    select id, 'msg_' || replace(id::text, '-', ''), gen_random_uuid(), event,
           origin || '/webhooks/stories', convert_to('{"status":"succeeded"}', 'UTF8'), status,
           case when status = 'failed' then 8 else 1 end,
           case when status = 'failed' then 'http_503' end,
           case when status = 'pending' then created_at + interval '1 hour' end,
           created_at, created_at
    from (
      select g, created_at,
             (lpad(to_hex((extract(epoch from created_at) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid as id,
             case when g % 100 < 96 then 'sent' when g % 100 < 99 then 'failed' else 'pending' end as status,
             case when g % 7 = 0 then 'job.failed' else 'job.succeeded' end as event,
             case when g % 10 < 7 then ${originOf(0)} else 'https://hooks-' || (1 + (g * 31) % ${ORIGINS - 1}) || '.customer.example' end as origin
      from (
        select g, to_timestamp((${start} + g::double precision * ${SPAN_MS} / ${rows}) / 1000) as created_at, md5(g::text) as h
        from generate_series(1, ${rows}::int) as g
      ) t
    ) s`;
}

async function explainOf(sql: postgres.Sql, statement: { text: string; parameters: unknown[] }): Promise<string> {
  if (statement.text === "") return "";
  const rows = await sql.unsafe(`explain (analyze, buffers) ${statement.text}`, statement.parameters as never[]);
  return rows.map((row) => String(row["QUERY PLAN"])).join("\n");
}
