import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { connectPostgres, type PostgresDatabase } from "../../src/adapters/postgres/connect.ts";
import { EMBEDDED_POOL_SIZE, embeddedConnectionOptions, startEmbeddedPostgres } from "../../src/adapters/postgres/embedded.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import { createTempDataDir } from "./embedded.ts";
import { createTestDatabase } from "./postgres.ts";
import type { ContractSubject, JobSeed } from "./contract-subject.ts";

export function memorySubject(): Promise<ContractSubject> {
  let db = createMemoryDatabase();
  return Promise.resolve({
    get db() {
      return db;
    },
    insertJob: async (job) => db.putJob({
      id: job.id,
      status: job.status ?? "succeeded",
      finishedAt: job.finishedAt ?? null,
      outputMarkup: job.outputMarkup ?? null,
      errorCode: null,
      errorMessage: null,
      webhookUrl: job.webhookUrl ?? null,
      webhookSecret: job.webhookSecret == null ? null : makeSecret(job.webhookSecret),
    }),
    deleteJob: async (id) => db.deleteJob(id),
    reset: async () => {
      await db.close();
      db = createMemoryDatabase();
    },
    cleanup: () => db.close(),
  });
}

/** A fresh database on the real Postgres server, migrated. */
export async function postgresSubject(): Promise<ContractSubject> {
  const database = await createTestDatabase();
  const db = connectPostgres({ url: database.url, max: 10 });
  await applyMigrations(db.sql);
  return sqlSubject(db, async () => {
    await db.close();
    await database.drop();
  });
}

/** The embedded PGlite in a temporary directory, migrated, reached through postgres.js. */
export async function embeddedSubject(): Promise<ContractSubject> {
  const dir = await createTempDataDir();
  const embedded = await startEmbeddedPostgres({ dataDir: dir.dataDir });
  const db = connectPostgres({ url: embedded.url, max: EMBEDDED_POOL_SIZE, ...embeddedConnectionOptions });
  await applyMigrations(db.sql);
  return sqlSubject(db, async () => {
    await db.close();
    await embedded.stop();
    await dir.remove();
  });
}

function sqlSubject(db: PostgresDatabase, cleanup: () => Promise<void>): ContractSubject {
  const { sql } = db;
  return {
    db,
    insertJob: async (job: JobSeed) => {
      await sql`
        insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
        values (${job.id}, ${job.status ?? "succeeded"}, ${job.finishedAt ?? null}::timestamptz,
                ${job.outputMarkup ?? null}::text, ${job.webhookUrl ?? null}::text, ${job.webhookSecret ?? null}::text)`;
    },
    deleteJob: async (id) => {
      await sql`delete from jobs where id = ${id}`;
    },
    reset: async () => {
      await sql`truncate webhook_delivery_attempts, webhook_deliveries, webhook_outbox, webhook_dead_letters, webhook_operator_actions, webhook_replays, jobs`;
    },
    cleanup,
  };
}
