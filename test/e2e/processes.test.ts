import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/free-port.ts";
import { startSampleReceiver, type Reply, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { parseJson, spawnDispatcherProcess, startDispatcherProcess, type DispatcherProcess, type SpawnedDispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase, createTestDatabase } from "../support/postgres.ts";
import { startTcpProxy } from "../support/tcp-proxy.ts";
import { parseMetrics, promtoolMetricsProblems } from "../support/metrics-text.ts";
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

function spawnUnstarted(env: Record<string, string>): SpawnedDispatcherProcess {
  const dispatcher = spawnDispatcherProcess(env);
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return dispatcher;
}

/** The lines a process logged with message `msg`, parsed. */
const linesSaying = (dispatcher: { lines: readonly string[] }, msg: string) =>
  dispatcher.lines.map(parseJson).filter((line): line is Record<string, unknown> => line?.msg === msg);

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

  it("waits at start-up while the database refuses connections, retrying with longer waits, then migrates and delivers once it answers", async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const server = new URL(database.url);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
    cleanups.push(() => proxy.close());
    await proxy.cut();
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());

    const dispatcher = spawnUnstarted({ DATABASE_URL: viaProxy.toString(), POLL_INTERVAL: "100ms" });
    await waitFor("three start-up retries", () => linesSaying(dispatcher, "database not ready; retrying").length >= 3, { timeoutMs: 30_000 });
    const waits = linesSaying(dispatcher, "database not ready; retrying").map((line) => line.retry_in_ms as number);
    expect(waits[1]).toBeGreaterThan(waits[0]!);
    expect(waits[2]).toBeGreaterThan(waits[1]!);
    expect(linesSaying(dispatcher, "stories-dispatcher started")).toEqual([]);
    expect(dispatcher.child.exitCode).toBeNull();

    await proxy.restore();
    await waitFor("the start-up line", () => linesSaying(dispatcher, "stories-dispatcher started").length === 1, { timeoutMs: 60_000 });
    expect(linesSaying(dispatcher, "migrations applied").map((line) => line.versions)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8]]);
    const sql = postgres(database.url, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());
    await publishJobs(sql, receiver, 1);
    await waitFor("the delivery to be sent", async () => (await countByStatus(sql)).sent === 1);
    expect(receiver.receipts).toHaveLength(1);
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
  });

  it("exits 0 on SIGTERM while it still waits for its database at start-up", async () => {
    const nothingListens = await freePort();
    const dispatcher = spawnUnstarted({ DATABASE_URL: `postgres://postgres@127.0.0.1:${nothingListens}/postgres` });
    await waitFor("a start-up retry", () => linesSaying(dispatcher, "database not ready; retrying").length >= 1, { timeoutMs: 30_000 });
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
    expect(linesSaying(dispatcher, "shutting down: no new claims; finishing attempts in flight")).toHaveLength(1);
    expect(linesSaying(dispatcher, "stories-dispatcher started")).toEqual([]);
  });

  it("spreads retries with the default jitter: each first retry is due within 10% of the 60 s backoff, and not all at the same delay", async () => {
    const { url, sql, receiver } = await setup(() => ({ status: 503 }));
    // WEBHOOK_RETRY_JITTER is not set: its default applies, through main.ts's wiring.
    await spawnDispatcher({ DATABASE_URL: url, POLL_INTERVAL: "100ms", WEBHOOK_RETRY_BASE_DELAY: "60s" });
    await publishJobs(sql, receiver, 20);
    // Each retry is scheduled from when its attempt ended (start + duration); a few ms of work come after that.
    const delays = await waitFor("every delivery to wait for its first retry", async () => {
      const rows = await sql<{ delay_ms: number }[]>`
        select (extract(epoch from d.next_attempt_at - a.started_at) * 1000)::float8 - a.duration_ms as delay_ms
        from webhook_deliveries d join webhook_delivery_attempts a on a.delivery_id = d.id and a.attempt_number = 1
        where d.status = 'pending' and d.attempts = 1 and d.lease_token is null`;
      return rows.length === 20 ? rows.map((row) => row.delay_ms) : null;
    });
    const workAfterTheAttemptMs = 250;
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(54_000 - 1);
      expect(delay).toBeLessThanOrEqual(66_000 + workAfterTheAttemptMs);
    }
    // Twenty uniform draws over 12 s all within one second of each other: about 1 in 10^19.
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(1_000);
  });

  it("runs on Deno (deno task start), delivers a webhook from the outbox that verifies, and counts it in /metrics", async () => {
    const { url, sql, receiver } = await setup(() => ({ status: 200 }));
    const dispatcher = await spawnDispatcher({ DATABASE_URL: url, POLL_INTERVAL: "100ms", LOG_LEVEL: "debug" }, "deno");
    await publishJobs(sql, receiver, 1);
    await waitFor("the delivery to be sent", async () => (await countByStatus(sql)).sent === 1);
    expect(receiver.receipts).toHaveLength(1);
    expect(receiver.receipts[0]?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
    const text = await (await fetch(`http://127.0.0.1:${dispatcher.port}/metrics`)).text();
    const metrics = parseMetrics(text);
    expect(metrics.value("webhook_deliveries_total", { outcome: "sent" })).toBe(1);
    expect(metrics.value("webhook_deliveries_pending")).toBe(0);
    expect(metrics.value("process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(promtoolMetricsProblems(text)).toEqual([]);
  });

  it("serves the OpenAPI document and the reference page with its package assets on Deno", async () => {
    const { url } = await createMigratedDatabase(cleanups);
    const dispatcher = await spawnDispatcher({ DATABASE_URL: url }, "deno");
    const base = `http://127.0.0.1:${dispatcher.port}`;
    const document = (await (await fetch(`${base}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toContain("/v1/deliveries/{id}");
    for (const [path, type] of [["/docs", "text/html"], ["/docs/swagger-ui-bundle.js", "text/javascript"], ["/docs/swagger-ui.css", "text/css"]]) {
      const response = await fetch(`${base}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type"), path).toContain(type);
      expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
  });
});
