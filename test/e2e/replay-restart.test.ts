import postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess, type DispatcherProcess } from "../support/dispatcher-process.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKEN = "admin-token-for-tests-0123";
const DELIVERIES = 10_000;
const CONCURRENCY = 32;

/** `count` finished jobs pointing at `url`, and a delivery of each that failed (receiver down) three attempts ago, in two statements. */
async function failedDeliveries(sql: postgres.Sql, url: string, count: number): Promise<void> {
  await sql`
    insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
    select gen_random_uuid(), 'succeeded', now(), '<story/>', ${url}, ${TEST_SECRET} from generate_series(1, ${count})`;
  // Ids are UUIDv7 of the creation time, as the dispatcher makes them.
  await sql`
    insert into webhook_deliveries (id, job_id, event, url, status, attempts, last_error, created_at, updated_at, webhook_id, payload)
    select d.id, d.job_id, 'job.succeeded', d.webhook_url, 'failed', 3, 'connection_refused', d.created_at, now(),
           'msg_' || replace(d.id::text, '-', ''), convert_to(json_build_object('job_id', d.job_id, 'status', 'succeeded')::text, 'UTF8')
    from (
      select (lpad(to_hex((extract(epoch from created_at) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid as id,
             job_id, webhook_url, created_at
      from (select id as job_id, webhook_url, now() - interval '1 hour' as created_at, md5(random()::text) as h from jobs) j
    ) d`;
}

async function spawn(url: string): Promise<DispatcherProcess> {
  const dispatcher = await startDispatcherProcess({
    env: { DATABASE_URL: url, ADMIN_TOKEN: TOKEN, POLL_INTERVAL: "200ms", DISPATCH_CONCURRENCY: String(CONCURRENCY), WEBHOOK_TIMEOUT: "2s" },
  });
  cleanups.push(() => dispatcher.stop("SIGKILL"));
  return dispatcher;
}

describe("a bulk replay across a SIGKILL", () => {
  it("re-drives each of 10,000 failed deliveries exactly once, resuming after the kill; only attempts in flight at the kill may arrive twice", async () => {
    const database = await createMigratedDatabase(cleanups);
    const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());
    await failedDeliveries(database.sql, `${receiver.url}/hook`, DELIVERIES);

    const first = await spawn(database.url);
    const window = { created_after: new Date(Date.now() - 2 * 3_600_000).toISOString(), created_before: new Date().toISOString() };
    const response = await fetch(`http://127.0.0.1:${first.port}/v1/replays`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(window),
    });
    const created = (await response.json()) as { replay_id: string; matched: number };
    expect([response.status, created.matched]).toEqual([202, DELIVERIES]);

    await waitFor("a third of the replay to reach the receiver", () => receiver.receipts.length >= DELIVERIES / 3, { timeoutMs: 120_000 });
    expect(await first.stop("SIGKILL")).toBe("SIGKILL");
    const receivedBeforeKill = receiver.receipts.length;
    const [progress] = await database.sql<{ status: string; redriven: number }[]>`select status, redriven from webhook_replays where id = ${created.replay_id}`;
    expect(progress).toMatchObject({ status: "running" });
    expect(progress!.redriven).toBeLessThan(DELIVERIES);

    await spawn(database.url);
    // In-flight attempts of the killed process come back when their leases expire (WEBHOOK_TIMEOUT + 30 s).
    await waitFor("every delivery sent", async () => {
      const [row] = await database.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent'`;
      return row!.n === DELIVERIES;
    }, { timeoutMs: 120_000, intervalMs: 250 });

    const [replay] = await database.sql`select status, redriven, skipped from webhook_replays where id = ${created.replay_id}`;
    expect(replay).toEqual({ status: "completed", redriven: DELIVERIES, skipped: 0 });
    const [actions] = await database.sql<{ total: number; deliveries: number }[]>`
      select count(*)::int as total, count(distinct delivery_id)::int as deliveries from webhook_operator_actions where action = 'replay'`;
    expect(actions).toEqual({ total: DELIVERIES, deliveries: DELIVERIES });
    const ids = receiver.receipts.map((receipt) => receipt.headers["webhook-id"]);
    const unique = new Set(ids);
    expect(unique.size).toBe(DELIVERIES);
    // At-least-once: an attempt in flight at the kill was sent but not recorded, so it is sent again.
    const repeated = ids.length - unique.size;
    expect(repeated).toBeLessThanOrEqual(CONCURRENCY);
    const repeatedIds = new Set(ids.filter((id, index) => ids.indexOf(id) !== index));
    const firstSeen = (id: string | undefined) => ids.indexOf(id);
    expect([...repeatedIds].every((id) => firstSeen(id) < receivedBeforeKill)).toBe(true);
    expect(receiver.receipts.every((receipt) => receipt.verified.standardWebhooks)).toBe(true);
  }, 240_000);
});
