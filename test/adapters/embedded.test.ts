import { spawn } from "node:child_process";
import { access, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { connectPostgres } from "../../src/adapters/postgres/connect.ts";
import { EMBEDDED_POOL_SIZE, embeddedConnectionOptions, startEmbeddedPostgres } from "../../src/adapters/postgres/embedded.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { createTempDataDir } from "../support/embedded.ts";
import { newDelivery } from "../support/contract-subject.ts";

describe("the embedded database", () => {
  let dir: Awaited<ReturnType<typeof createTempDataDir>>;
  const stops: (() => Promise<void>)[] = [];

  async function start() {
    const embedded = await startEmbeddedPostgres({ dataDir: dir.dataDir });
    const db = connectPostgres({ url: embedded.url, max: EMBEDDED_POOL_SIZE, ...embeddedConnectionOptions });
    const stop = async () => {
      await db.close();
      await embedded.stop();
    };
    stops.push(stop);
    return { embedded, db, stop };
  }

  beforeEach(async () => {
    dir = await createTempDataDir();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await dir.remove();
  });

  it("data survives a stop and a restart on the same data directory", async () => {
    const row = newDelivery({ payload: new Uint8Array([0, 1, 2, 255]) });
    const first = await start();
    expect(await applyMigrations(first.db.sql)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await first.db.deliveries.createDeliveries([row]);
    await first.stop();

    const second = await start();
    expect(await applyMigrations(second.db.sql)).toEqual([]);
    const stored = await second.db.deliveries.getDelivery(row.id);
    expect(Array.from(stored?.delivery.payload ?? [])).toEqual([0, 1, 2, 255]);
  });

  it("a second start on a data directory in use fails with a clear message", async () => {
    const first = await start();
    await expect(startEmbeddedPostgres({ dataDir: dir.dataDir })).rejects.toThrow(
      new RegExp(`embedded database in .* is in use by process ${process.pid}.*DATA_DIR.*DATABASE_URL`),
    );
    await first.db.ping();
    await first.stop();
    const again = await start();
    await again.db.ping();
  });

  it("a lock left by a process that died is taken over, and released on stop", async () => {
    const lockPath = join(dir.dataDir, "dispatcher.lock");
    await writeFile(lockPath, `${await deadPid()} 00000000-0000-4000-8000-000000000000\n`);
    const { db, stop } = await start();
    await db.ping();
    expect(await readFile(lockPath, "utf8")).toMatch(new RegExp(`^${process.pid} `));
    await stop();
    await expect(access(lockPath)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("stop can be called twice", async () => {
    const embedded = await startEmbeddedPostgres({ dataDir: dir.dataDir });
    await Promise.all([embedded.stop(), embedded.stop()]);
    await embedded.stop();
  });

  it("transactions and queries sent at once through the one-connection pool all complete", async () => {
    const { db } = await start();
    await applyMigrations(db.sql);
    const work = Array.from({ length: 8 }, (_, i) => [
      db.transaction(async (tx) => {
        const id = await tx.outbox.appendEvent({ jobId: newDelivery().jobId, event: `e${i}`, traceId: null, now: new Date() });
        await tx.outbox.claimPendingEvents({ limit: 1 });
        return id;
      }),
      db.deliveries.nextDueAt().then(() => "query"),
    ]).flat();
    const results = await Promise.all(work);
    expect(results.filter((r) => r === "query")).toHaveLength(8);
    expect(new Set(results.filter((r) => r !== "query")).size).toBe(8);
  });
});

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    child.on("error", reject);
    child.on("exit", () => resolve(child.pid ?? 999_999));
  });
}
