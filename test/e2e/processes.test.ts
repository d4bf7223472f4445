import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver, type Reply, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess, parseJson, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(reply: (path: string, count: number) => Reply) {
  const database = await createMigratedDatabase(cleanups);
  const { sql } = database;
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply });
  cleanups.push(() => receiver.close());
  return { url: database.url, sql, receiver };
}

async function spawnDispatcher(env: Record<string, string>, runtime: "node" | "deno" = "node"): Promise<DispatcherProcess> {
  const dispatcher = await startDispatcherProcess({ env, runtime });
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return dispatcher;
}

/** Finished jobs pointing at the receiver, and their events on the outbox, in one statement each. */
async function publishJobs(sql: postgres.Sql, receiver: SampleReceiver, count: number, path = "/ok"): Promise<string[]> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
            select id, 'succeeded', now(), '<story/>', ${receiver.url + path}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
  await sql`insert into webhook_outbox (job_id, event, trace_id) select id, 'job.succeeded', 't' from unnest(${ids}::uuid[]) as id`;
  return ids;
}

const countByStatus = async (sql: postgres.Sql) =>
  Object.fromEntries(
    (await sql<{ status: string; n: number }[]>`select status, count(*)::int as n from webhook_deliveries group by status`).map((r) => [r.status, r.n]),
  );

describe("dispatcher processes", () => {
  it("delivers retries that were pending when a process was killed with SIGKILL, from a new process, losing nothing", async () => {
    const { url, sql, receiver } = await setup((_path, count) => (count === 1 ? { status: 503 } : { status: 200 }));
    const env = { DATABASE_URL: url, WEBHOOK_RETRY_BASE_DELAY: "3s", WEBHOOK_RETRY_JITTER: "0", POLL_INTERVAL: "200ms" };
    const first = await spawnDispatcher(env);
    const ids = await publishJobs(sql, receiver, 1, "/job");
    await waitFor("the first attempt to be recorded as a pending retry", async () => {
      const [row] = await sql`select status, attempts from webhook_deliveries where job_id = ${ids[0]!}`;
      return row?.status === "pending" && row.attempts === 1;
    });
    expect(await first.stop("SIGKILL")).toBe("SIGKILL");

    await spawnDispatcher(env);
    await waitFor("the retry to be delivered by the new process", async () => (await countByStatus(sql)).sent === 1);
    const [delivery] = await sql`select id, attempts from webhook_deliveries`;
    expect(delivery?.attempts).toBe(2);
    const attempts = await sql`select status_code, outcome from webhook_delivery_attempts where delivery_id = ${delivery!.id} order by attempt_number`;
    expect(attempts.map((a) => [a.status_code, a.outcome])).toEqual([[503, "retry"], [200, "sent"]]);
    expect(receiver.receipts).toHaveLength(2);
  });

  it("shares 1,000 events between two processes on one database and delivers each exactly once", async () => {
    const { url, sql, receiver } = await setup(() => ({ status: 200 }));
    const env = { DATABASE_URL: url, POLL_INTERVAL: "100ms", DISPATCH_CONCURRENCY: "16", OUTBOX_BATCH_SIZE: "100" };
    const processes = [await spawnDispatcher(env), await spawnDispatcher(env)];
    await publishJobs(sql, receiver, 1000);
    await waitFor("1,000 deliveries sent", async () => (await countByStatus(sql)).sent === 1000, { timeoutMs: 60_000 });

    expect(await countByStatus(sql)).toEqual({ sent: 1000 });
    expect(receiver.receipts).toHaveLength(1000);
    expect(new Set(receiver.receipts.map((r) => r.headers["webhook-id"])).size).toBe(1000);
    expect(receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
    // The rows are committed before each process logs them: wait for the log lines too.
    const sentBy = await waitFor("each process to log what it sent", () => {
      const counts = processes.map((p) => p.lines.map(parseJson).filter((line) => line?.msg === "delivery sent").length);
      return counts[0]! + counts[1]! === 1000 ? counts : null;
    });
    expect(sentBy.every((n) => n > 0)).toBe(true);
  });

  it("stops on SIGTERM after finishing the attempt in flight, and exits 0", async () => {
    const { url, sql, receiver } = await setup(() => ({ status: 200, delayMs: 1_000 }));
    const dispatcher = await spawnDispatcher({ DATABASE_URL: url, POLL_INTERVAL: "100ms" });
    await publishJobs(sql, receiver, 1);
    await waitFor("the request to reach the receiver", () => receiver.receipts.length === 1);
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
    expect(await countByStatus(sql)).toEqual({ sent: 1 });
  });

  it("runs on Deno (deno task start) and delivers a webhook from the outbox that verifies", async () => {
    const { url, sql, receiver } = await setup(() => ({ status: 200 }));
    await spawnDispatcher({ DATABASE_URL: url, POLL_INTERVAL: "100ms", LOG_LEVEL: "debug" }, "deno");
    await publishJobs(sql, receiver, 1);
    await waitFor("the delivery to be sent", async () => (await countByStatus(sql)).sent === 1);
    expect(receiver.receipts).toHaveLength(1);
    expect(receiver.receipts[0]?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
  });
});
