import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver } from "../../scripts/sample-receiver.ts";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createPinoLogger } from "../../src/adapters/pino-logger.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { parseJson, startDispatcherProcess } from "../support/dispatcher-process.ts";
import { deliveriesOf, startHarness, TEST_SECRET, type Harness } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";
import { operatorParts } from "../support/operator-parts.ts";

let harness: Harness | null = null;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await harness?.stop();
  harness = null;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKEN = "admin-token-for-secret-tests";

describe("webhook secrets", () => {
  it("never appear in logs, API responses or stored attempts, whatever happens to the delivery", async () => {
    const plainSecret = "plain-secret-value-42";
    const h = (harness = await startHarness({
      env: { WEBHOOK_MAX_RETRIES: "2", LOG_LEVEL: "debug" },
      reply: (path) => ({ status: path === "/ok" ? 200 : path === "/reject" ? 400 : 500 }),
    }));
    h.start();
    const jobs = [
      await h.addJob("/ok"),
      await h.addJob("/reject", { secret: plainSecret }),
      await h.addJob("/error"),
      await h.addJob("/ok", { secret: "bad secret\twith whitespace" }),
    ];
    for (const jobId of jobs) await h.publish(jobId);
    await waitFor("every delivery to be final", async () => {
      const rows = (await Promise.all(jobs.map((id) => deliveriesOf(h.sql, id)))).flat();
      return rows.length === 4 && rows.every((row) => row.status !== "pending");
    });

    const apiLog: string[] = [];
    const api = createAdminApi({ ...operatorParts(h.db),
      db: h.db,
      adminToken: TOKEN,
      clock: systemClock,
      logger: createPinoLogger({ level: "debug", destination: { write: (line) => apiLog.push(line) } }),
      sources: () => [],
      onEventAppended: () => {},
    });
    const responses: string[] = [];
    for (const jobId of jobs) {
      const list = await api.request(`/v1/jobs/${jobId}/deliveries`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const text = await list.text();
      responses.push(text);
      for (const delivery of JSON.parse(text).deliveries as { id: string }[]) {
        responses.push(await (await api.request(`/v1/deliveries/${delivery.id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      }
    }
    const stored = await h.sql`select d.*, a.* from webhook_deliveries d left join webhook_delivery_attempts a on a.delivery_id = d.id`;
    const everything = [...h.logLines, ...apiLog, ...responses, JSON.stringify(stored)].join("\n");
    for (const secret of [TEST_SECRET, TEST_SECRET.slice("whsec_".length), plainSecret, "bad secret"]) {
      expect(everything).not.toContain(secret);
    }
    expect(h.logLines.length).toBeGreaterThan(4);
  });

  it("refuses a secret with whitespace or control characters with a clear reason, and never sends the webhook", async () => {
    const h = (harness = await startHarness({ reply: () => ({ status: 200 }) }));
    h.start();
    const jobId = await h.addJob("/ok", { secret: "line\nbreak" });
    await h.publish(jobId);
    const delivery = await waitFor("the delivery to fail", async () => {
      const [row] = await deliveriesOf(h.sql, jobId);
      return row?.status === "failed" ? row : null;
    });
    expect(delivery.last_error).toBe("invalid_secret: secret contains whitespace or control characters; nothing was sent");
    expect(delivery.attempts).toBe(1);
    expect(h.receiver.receipts).toHaveLength(0);
  });
});

describe.each(["node", "deno"] as const)("webhook secrets, in the log of a dispatcher process on %s", (runtime) => {
  it("never appear in what it writes, JSON lines from its start-up to its last line at exit", async () => {
    const plainSecret = "plain-secret-value-43";
    const { url, sql } = await createMigratedDatabase(cleanups);
    const receiver = await startSampleReceiver({
      secretFor: () => TEST_SECRET,
      reply: (path) => ({ status: path === "/ok" ? 200 : path === "/reject" ? 400 : 500 }),
    });
    cleanups.push(() => receiver.close());
    const jobs = [
      { path: "/ok", secret: TEST_SECRET },
      { path: "/reject", secret: plainSecret },
      { path: "/error", secret: TEST_SECRET },
      { path: "/ok", secret: "bad secret\twith whitespace" },
    ].map((job) => ({ ...job, id: randomUUID() }));
    for (const job of jobs) {
      await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
                values (${job.id}, 'succeeded', now(), '<story/>', ${receiver.url + job.path}, ${job.secret})`;
    }
    const env = { DATABASE_URL: url, LOG_LEVEL: "debug", POLL_INTERVAL: "100ms", WEBHOOK_MAX_RETRIES: "2", WEBHOOK_RETRY_BASE_DELAY: "100ms", WEBHOOK_RETRY_JITTER: "0" };
    const dispatcher = await startDispatcherProcess({ env, runtime });
    cleanups.push(() => dispatcher.stop("SIGKILL"));
    await sql`insert into webhook_outbox (job_id, event, trace_id) select id, 'job.succeeded', 'trace-' || id from unnest(${jobs.map((job) => job.id)}::uuid[]) as id`;
    await waitFor("every delivery to be final", async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status <> 'pending'`;
      return row?.n === jobs.length;
    });
    expect(await dispatcher.stop("SIGTERM")).toBe(0);

    const text = dispatcher.lines.join("\n");
    for (const secret of [TEST_SECRET, TEST_SECRET.slice("whsec_".length), plainSecret, "bad secret"]) expect(text).not.toContain(secret);
    // `deno task` names the command it runs (in colour) on stderr before the dispatcher starts.
    const logged = dispatcher.lines.filter((line) => !line.replace(/\x1b\[[0-9;]*m/g, "").startsWith("Task start ")).map(parseJson);
    expect(logged.every((line) => line !== null && typeof line.level === "string" && typeof line.time === "string" && typeof line.msg === "string")).toBe(true);
    expect(logged.at(-1)?.msg).toBe("stopped");
    const attempts = logged.filter((line) => line?.component === "delivery");
    expect(attempts.map((line) => line?.outcome).sort()).toEqual(["failed", "failed", "failed", "retry", "sent"]);
    for (const line of attempts) expect(line).toMatchObject({ job_id: expect.any(String), delivery_id: expect.any(String), trace_id: `trace-${line?.job_id}`, attempt: expect.any(Number) });
  });
});
