/**
 * `npm run demo`: the dispatcher on its embedded default, delivering signed webhooks to a bundled
 * sample receiver — delivered, retried and failed, all within a minute.
 *
 * It plays the platform's part first (sample jobs and outbox rows written into the embedded
 * database under .data/demo), then runs the real `src/main.ts` against that directory and
 * watches the receiver and the admin API.
 */
import { rm } from "node:fs/promises";
import postgres from "postgres";
import { EMBEDDED_POOL_SIZE, embeddedConnectionOptions, startEmbeddedPostgres } from "../src/adapters/postgres/embedded.ts";
import { applyMigrations } from "../src/adapters/postgres/migrate.ts";
import { startSampleReceiver, type Reply } from "./sample-receiver.ts";
import { freePort } from "./free-port.ts";
import { exitOf, loopbackReceiversEnv, projectRoot, spawnDispatcher } from "./spawn-dispatcher.ts";

const dataDir = `${projectRoot}.data/demo`;
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const adminToken = "demo-admin-token-0123456789";

const jobs = [
  { id: "00000000-0000-4000-8000-000000000001", path: "/ok", story: "answers 200 at once" },
  { id: "00000000-0000-4000-8000-000000000002", path: "/flaky", story: "answers 500 twice, then 200" },
  { id: "00000000-0000-4000-8000-000000000003", path: "/reject", story: "answers 400: failed, not retried" },
  { id: "00000000-0000-4000-8000-000000000004", path: "/down", story: "answers 503 every time: failed after 4 attempts" },
  { id: "00000000-0000-4000-8000-000000000005", path: "/slow", story: "hangs past the 3 s deadline once, then 200" },
  { id: "00000000-0000-4000-8000-000000000006", path: null, story: "has no webhook URL: skipped" },
] as const;

function reply(path: string, count: number): Reply {
  switch (path) {
    case "/ok": return { status: 200, body: "thanks" };
    case "/flaky": return count <= 2 ? { status: 500, body: "temporary failure" } : { status: 200 };
    case "/reject": return { status: 400, body: "unknown endpoint" };
    case "/down": return { status: 503, body: "maintenance" };
    case "/slow": return count === 1 ? { status: 200, delayMs: 5_000 } : { status: 200 };
    default: return { status: 404 };
  }
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;

await rm(dataDir, { recursive: true, force: true });
const receiver = await startSampleReceiver({
  secretFor: () => secret,
  reply,
  onReceipt: (r) =>
    console.log(
      `${elapsed()}  receiver  POST ${r.path.padEnd(8)} request #${r.countForPath}  webhook-id ${r.headers["webhook-id"]}  ` +
        `signature ${r.verified.standardWebhooks && r.verified.hexHmac ? "verified" : "INVALID"}  → ${r.reply.delayMs ? "(hangs)" : r.reply.status}`,
    ),
});

// The platform's side: finished jobs, and their events on the outbox in the same transaction.
const embedded = await startEmbeddedPostgres({ dataDir });
const sql = postgres(embedded.url, { max: EMBEDDED_POOL_SIZE, ...embeddedConnectionOptions });
await applyMigrations(sql);
for (const [i, job] of jobs.entries()) {
  const failed = i === 1;
  await sql.begin(async (tx) => {
    await tx`insert into jobs (id, status, finished_at, output_markup, error_code, error_message, webhook_url, webhook_secret)
             values (${job.id}, ${failed ? "failed" : "succeeded"}, now(), ${failed ? null : `<story id="${i + 1}">Once upon a time…</story>`},
                     ${failed ? "render_timeout" : null}, ${failed ? "rendering took too long" : null},
                     ${job.path === null ? null : receiver.url + job.path}, ${secret})`;
    await tx`insert into webhook_outbox (job_id, event, trace_id) values (${job.id}, ${failed ? "job.failed" : "job.succeeded"}, ${`demo-trace-${i + 1}`})`;
  });
  console.log(`${elapsed()}  platform  job ${job.id.slice(-2)} → ${job.path ?? "(no webhook)"}: ${job.story}`);
}
await sql.end();
await embedded.stop();

const port = await freePort();
const dispatcher = spawnDispatcher({
  env: {
    ...process.env,
    ...loopbackReceiversEnv,
    DATA_DIR: dataDir,
    HTTP_PORT: String(port),
    ADMIN_TOKEN: adminToken,
    WEBHOOK_MAX_RETRIES: "4",
    WEBHOOK_RETRY_BASE_DELAY: "2s",
    WEBHOOK_RETRY_JITTER: "0",
    WEBHOOK_TIMEOUT: "3s",
    LOG_LEVEL: "error",
  },
  output: "inherit",
});
console.log(`${elapsed()}  dispatcher started (pid ${dispatcher.pid}, admin API on http://127.0.0.1:${port})`);

const api = async (path: string, init?: RequestInit) => {
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
      });
      return (await response.json()) as Record<string, any>;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
};

// An event through the admin API as well: job 01 gets a second event.
const queued = await api("/v1/events", { method: "POST", body: JSON.stringify({ job_id: jobs[0].id, event: "job.archived", trace_id: "demo-api" }) });
console.log(`${elapsed()}  operator  POST /v1/events → outbox id ${queued.outbox_id}`);

type Row = { job: string; event: string; status: string; attempts: number; last_error: string | null };
let rows: Row[] = [];
const deadline = Date.now() + 55_000;
while (Date.now() < deadline) {
  rows = [];
  for (const job of jobs) {
    const { deliveries } = await api(`/v1/jobs/${job.id}/deliveries`);
    for (const d of deliveries) rows.push({ job: job.id.slice(-2), event: d.event, status: d.status, attempts: d.attempts, last_error: d.last_error });
  }
  if (rows.length === 6 && rows.every((r) => r.status !== "pending")) break;
  await new Promise((resolve) => setTimeout(resolve, 500));
}

console.log(`\n${elapsed()}  deliveries, as GET /v1/jobs/:job_id/deliveries reports them:`);
console.table(rows);
dispatcher.kill("SIGTERM");
await exitOf(dispatcher);
await receiver.close();
const ok = rows.length === 6 && rows.every((r) => r.status !== "pending");
console.log(ok ? "demo finished: every delivery reached its final state" : "demo timed out with deliveries still pending");
process.exit(ok ? 0 : 1);
