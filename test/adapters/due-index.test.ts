import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeDeliveryStore } from "../../src/adapters/postgres/delivery-store.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/postgres.ts";

// A plan check, not a timing: the claim must find due rows through the partial index, whatever
// the number of rows waiting for a later attempt.
let database: TestDatabase;
let sql: postgres.Sql;
const sent: { text: string; parameters: unknown[] }[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, {
    max: 1,
    onnotice: () => {},
    debug: (_connection, text, parameters) => sent.push({ text, parameters }),
  });
  await applyMigrations(sql);
  await sql`
    insert into webhook_deliveries (id, job_id, event, url, status, created_at, webhook_id, payload, next_attempt_at, updated_at)
    select gen_random_uuid(), gen_random_uuid(), 'job.succeeded', 'https://r.example/', 'pending', now(),
           'msg_' || i, '\\x7b7d'::bytea, now() + interval '1 day' + i * interval '1 second', now()
    from generate_series(1, 20000) as i`;
  await sql`
    insert into webhook_deliveries (id, job_id, event, url, status, created_at, webhook_id, payload, next_attempt_at, updated_at)
    select gen_random_uuid(), gen_random_uuid(), 'job.succeeded', 'https://r.example/', 'sent', now(),
           'msg_sent_' || i, '\\x7b7d'::bytea, null, now()
    from generate_series(1, 20000) as i`;
  await sql`analyze webhook_deliveries`;
});

afterAll(async () => {
  await sql?.end({ timeout: 1 });
  await database?.drop();
});

it("the claim finds due deliveries through the partial index on next_attempt_at", async () => {
  sent.length = 0;
  expect(await makeDeliveryStore(sql).claimDueDeliveries({ now: new Date(), limit: 10, leaseMs: 30_000 })).toEqual([]);
  const claim = sent.find((q) => q.text.includes("for update skip locked"));
  if (claim === undefined) throw new Error("the claim statement was not captured");
  const plan = await sql.unsafe<{ "QUERY PLAN": string }[]>(`explain ${claim.text}`, claim.parameters as postgres.ParameterOrJSON<never>[]);
  const text = plan.map((row) => row["QUERY PLAN"]).join("\n");
  expect(text).toContain("webhook_deliveries_due_idx");
  expect(text).not.toMatch(/Seq Scan on webhook_deliveries/);
});

it("nextDueAt reads the partial index too", async () => {
  sent.length = 0;
  await makeDeliveryStore(sql).nextDueAt();
  const query = sent.find((q) => q.text.includes("min(next_attempt_at)"));
  if (query === undefined) throw new Error("the nextDueAt statement was not captured");
  const plan = await sql.unsafe<{ "QUERY PLAN": string }[]>(`explain ${query.text}`);
  expect(plan.map((row) => row["QUERY PLAN"]).join("\n")).toContain("webhook_deliveries_due_idx");
});

