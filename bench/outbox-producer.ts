/**
 * The benchmark's outbox producer, a process of its own (started by outbox-producer-client.ts
 * with child_process.fork) so that its CPU and event loop are neither the benchmark's nor the
 * dispatcher's: it plays the application that finishes jobs and commits their outbox rows.
 * Open loop: event k is committed at `startAt + k / rate` whatever the dispatcher does, each row
 * in a transaction of its own (autocommit), over a pool of 16 connections so that one slow
 * commit does not hold back the rows scheduled after it.
 *
 * IPC: the parent sends `{id, jobIds, ratePerSecond, startAt}`; this process answers `{id, result}`
 * (see ProducedEvents) or `{id, error}`. `{id: 0}` says the pool is open.
 */
import postgres from "postgres";
import { PRODUCER_APPLICATION_NAME, type ProduceRequest, type ProducedEvents } from "./outbox-producer-client.ts";
import { EVENT } from "./payload.ts";

const POOL_SIZE = 16;
// Epoch ms with sub-ms precision: the receiver's clock (bench/receiver.ts), so receipts compare.
const now = () => performance.timeOrigin + performance.now();

const poolOptions = {
  max: POOL_SIZE,
  // postgres.js otherwise pipelines up to 100 queries on a busy connection, where they would wait
  // behind its slow commit; at 0 a row waits only when all 16 connections are busy. (An option
  // its types leave out, hence the object apart from the call.)
  max_pipeline: 0,
  connection: { application_name: PRODUCER_APPLICATION_NAME },
  onnotice: () => {},
};
const sql = postgres(process.env.BENCH_DATABASE_URL ?? "", poolOptions);

/** Commits one outbox row; resolves with when COMMIT returned. */
async function commitRow(jobId: string): Promise<number> {
  await sql`insert into webhook_outbox (job_id, event) values (${jobId}, ${EVENT})`;
  return now();
}

async function produce(request: ProduceRequest): Promise<ProducedEvents> {
  const { jobIds, ratePerSecond, startAt } = request;
  const scheduledAt = jobIds.map((_, k) => startAt + (k * 1000) / ratePerSecond);
  const committedAt = jobIds.map(() => Number.NaN);
  const errors: string[] = [];
  const commit = (k: number) =>
    commitRow(jobIds[k]!).then(
      (at) => void (committedAt[k] = at),
      (error: unknown) => void errors.push(`job ${jobIds[k]}: ${(error as Error).message}`),
    );
  const cpuBefore = process.cpuUsage();
  const commits: Promise<void>[] = [];
  let next = 0;
  while (next < jobIds.length) {
    const wait = scheduledAt[next]! - now();
    // setTimeout wakes 1 ms late at best; rows due meanwhile start together on the next wake.
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const due = now();
    while (next < jobIds.length && scheduledAt[next]! <= due) commits.push(commit(next++));
  }
  await Promise.all(commits);
  if (errors.length > 0) throw new Error(`${errors.length} of ${jobIds.length} outbox rows not committed; first: ${errors[0]}`);
  const cpu = process.cpuUsage(cpuBefore);
  return { scheduledAt, committedAt, cpuMicros: cpu.user + cpu.system };
}

/** Opens every connection of the pool now, so no row of a measured run waits for a connection to open. */
async function openPool(): Promise<void> {
  await Promise.all(Array.from({ length: POOL_SIZE }, () => sql`select 1`));
}

process.on("message", (message: { id: number } & ProduceRequest) => {
  produce(message).then(
    (result) => process.send?.({ id: message.id, result }),
    (error: unknown) => process.send?.({ id: message.id, error: (error as Error).message }),
  );
});
process.on("disconnect", () => void sql.end({ timeout: 2 }).finally(() => process.exit(0)));

await openPool();
process.send?.({ id: 0 });
