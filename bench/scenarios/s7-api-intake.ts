/**
 * S7, intake over HTTP: how many events a second `POST /v1/events` accepts (202, durable on the
 * outbox) from a producer with a backlog, one event per request from 64 concurrent clients
 * against batches of 500 events from 8 concurrent clients. Each form gets a fresh database and
 * dispatcher, which delivers what it accepts meanwhile, as in production; every answer must be
 * a 202 that accepted every event of its request.
 */
import { createDatabase, insertJobs } from "../database.ts";
import { dispatcherEnv, startDispatcher } from "../dispatcher-process.ts";
import { repeat, type BenchContext } from "../drain.ts";
import { round } from "../stats.ts";

export const API_EVENTS = Number(process.env.BENCH_API_EVENTS ?? 20_000);
const TOKEN = "bench-admin-token-0123456789";
const SINGLE_CLIENTS = 64;
const BATCH_CLIENTS = 8;
const BATCH_SIZE = 500;

export interface ApiIntakeResult {
  readonly events: number;
  readonly singleEventsPerSecond: number;
  readonly batchedEventsPerSecond: number;
  readonly ratio: number;
}

export async function runApiIntake(ctx: BenchContext): Promise<ApiIntakeResult[]> {
  return repeat(ctx, "S7 API intake", 600_000, async (scope, kind) => {
    const events = kind === "warm-up" ? Math.min(API_EVENTS, 2_000) : API_EVENTS;
    const measure = async (batchSize: number, clients: number) => {
      const database = await createDatabase(ctx.adminUrl, "s7", scope);
      const jobIds = await insertJobs(database.sql, { count: events, secret: ctx.secret, urlOf: () => `${ctx.receiver.url}/ok` });
      const dispatcher = await startDispatcher(dispatcherEnv({ DATABASE_URL: database.url, ADMIN_TOKEN: TOKEN }));
      scope.defer(`stop dispatcher ${dispatcher.pid}`, () => dispatcher.stop());
      const seconds = await postAll(`http://127.0.0.1:${dispatcher.port}/v1/events`, jobIds, batchSize, clients);
      await dispatcher.stop();
      return round(events / seconds);
    };
    const singleEventsPerSecond = await measure(1, SINGLE_CLIENTS);
    const batchedEventsPerSecond = await measure(BATCH_SIZE, BATCH_CLIENTS);
    return { events, singleEventsPerSecond, batchedEventsPerSecond, ratio: round(batchedEventsPerSecond / singleEventsPerSecond, 2) };
  }, (r) => `${r.singleEventsPerSecond} events/s one per request (${SINGLE_CLIENTS} clients), ${r.batchedEventsPerSecond} in batches of ${BATCH_SIZE} (${BATCH_CLIENTS} clients)`);
}

/** Posts one event per job, `batchSize` to a request, from `clients` concurrent clients; returns the seconds taken. */
async function postAll(url: string, jobIds: readonly string[], batchSize: number, clients: number): Promise<number> {
  const requests: string[] = [];
  for (let start = 0; start < jobIds.length; start += batchSize) {
    const events = jobIds.slice(start, start + batchSize).map((jobId) => ({ job_id: jobId, event: "job.succeeded", trace_id: "bench" }));
    requests.push(JSON.stringify(batchSize === 1 ? events[0] : events));
  }
  let next = 0;
  const client = async () => {
    while (next < requests.length) {
      const body = requests[next++]!;
      const response = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body });
      const answer = (await response.json()) as { accepted?: number; refused?: number };
      if (response.status !== 202 || (batchSize > 1 && answer.refused !== 0)) throw new Error(`POST /v1/events answered ${response.status}: ${JSON.stringify(answer).slice(0, 300)}`);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  return (performance.now() - started) / 1000;
}
