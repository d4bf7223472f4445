import type postgres from "postgres";
import { afterEach, describe, expect, it } from "vitest";
import { connectPostgres } from "../../src/adapters/postgres/connect.ts";
import { embeddedConnectionOptions } from "../../src/adapters/postgres/embedded.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { createProxiedDatabase } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listening() {
  const { url, sql } = await createMigratedDatabase(cleanups);
  const db = connectPostgres({ url, max: 2 });
  cleanups.push(() => db.close());
  const wakes: number[] = [];
  const listener = await db.listenForOutbox!(() => void wakes.push(Date.now()));
  cleanups.push(() => listener.stop());
  return { sql, wakes };
}

const appendRows = (sql: postgres.Sql | postgres.TransactionSql, count: number) =>
  sql`insert into webhook_outbox (job_id, event) select gen_random_uuid(), 'job.succeeded' from generate_series(1, ${count})`;

describe("outbox notifications (Postgres)", () => {
  it("wake a listener when another connection commits outbox rows: once per transaction however many rows, never for one rolled back", async () => {
    const { sql, wakes } = await listening();
    await waitFor("the wake-up that says listening began", () => wakes.length === 1);

    await appendRows(sql, 100);
    await waitFor("one wake-up for a statement of 100 rows", () => wakes.length === 2);
    await sql.begin(async (tx) => {
      await appendRows(tx, 1);
      await appendRows(tx, 1);
    });
    await waitFor("one wake-up for a transaction of two statements", () => wakes.length === 3);
    await sql.begin(async (tx) => {
      await appendRows(tx, 1);
      throw new Error("rolled back");
    }).catch(() => {});
    await appendRows(sql, 1);
    await waitFor("the wake-up of the last commit", () => wakes.length === 4);
    // Give a stray notification of the rolled-back transaction time to arrive: none does.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(wakes).toHaveLength(4);
  });

  it("are skipped by a transaction that commits while another notifying one holds the notify lock; later commits notify again", async () => {
    const { sql, wakes } = await listening();
    await waitFor("listening", () => wakes.length === 1);
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(hashtext('webhook_outbox.notify'))`;
      await appendRows(sql, 1);
      // Give the notification that must not come time to arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(wakes).toHaveLength(1);
      await holder`select pg_advisory_unlock(hashtext('webhook_outbox.notify'))`;
    } finally {
      holder.release();
    }
    await appendRows(sql, 1);
    await waitFor("the wake-up of a commit with the lock free", () => wakes.length === 2);
  });

  it("listen again after the listening connection is killed, and wake the listener when they are back", async () => {
    const { sql, wakes } = await listening();
    await waitFor("listening", () => wakes.length === 1);
    const killed = await sql<{ n: number }[]>`
      select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
      where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()`;
    expect(killed[0]!.n).toBe(1);
    await waitFor("the wake-up of listening again", () => wakes.length === 2, { timeoutMs: 20_000 });
    await appendRows(sql, 1);
    await waitFor("a commit heard on the new connection", () => wakes.length === 3);
  }, 30_000);

  it("are listened for again after each of many losses of the connection, with no error escaping (vitest fails a test on an uncaught one)", async () => {
    const { proxy, direct, db } = await createProxiedDatabase(cleanups);
    const wakes: number[] = [];
    const listener = await db.listenForOutbox!(() => void wakes.push(Date.now()));
    cleanups.push(() => listener.stop());
    for (let round = 0; round < 8; round++) {
      const before = wakes.length;
      await proxy.cut();
      // Commits while the connection is down are not heard; they are what the wake-up on listening again is for.
      await appendRows(direct, 1);
      await new Promise((resolve) => setTimeout(resolve, 50 + 100 * (round % 3)));
      await proxy.restore();
      await waitFor(`listening again after loss ${round + 1}`, () => wakes.length > before, { timeoutMs: 20_000 });
    }
    const before = wakes.length;
    await appendRows(direct, 1);
    await waitFor("a commit heard after the last loss", () => wakes.length > before);
  }, 120_000);

  it("cannot be listened for while the database is unreachable: listening rejects, and leaves no connection trying behind", async () => {
    const db = connectPostgres({ url: "postgres://postgres@127.0.0.1:1/none", connectTimeoutSeconds: 1 });
    cleanups.push(() => db.close());
    await expect(db.listenForOutbox!(() => {})).rejects.toThrow(/ECONNREFUSED|connect/);
  });

  it("are not listened for on the embedded database, which serves one connection: appends there wake the poller in process", () => {
    const db = connectPostgres({ url: "postgres://postgres@127.0.0.1:1/none", ...embeddedConnectionOptions });
    cleanups.push(() => db.close());
    expect(db.listenForOutbox).toBeUndefined();
  });
});
