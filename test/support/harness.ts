import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { createPinoLogger } from "../../src/adapters/pino-logger.ts";
import { createUndiciSender } from "../../src/adapters/http/undici-sender.ts";
import { connectPostgres } from "../../src/adapters/postgres/connect.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { nodeCryptoHmacSha256 } from "../../src/adapters/node-crypto-hmac.ts";
import { parseConfig, type Config } from "../../src/app/config.ts";
import { wireDispatcher, type Dispatcher } from "../../src/app/wire.ts";
import type { Database } from "../../src/ports/database.ts";
import { startSampleReceiver, type Reply, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { createTestDatabase } from "./postgres.ts";

export const TEST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export interface Harness {
  readonly url: string;
  readonly sql: postgres.Sql;
  readonly db: Database;
  readonly receiver: SampleReceiver;
  readonly config: Config;
  readonly dispatcher: Dispatcher;
  readonly logLines: string[];
  /** Inserts a finished job whose webhook points at `path` on the receiver; returns its id. */
  addJob(path: string | null, options?: { secret?: string | null; status?: "succeeded" | "failed" }): Promise<string>;
  /** Puts an event on the outbox, as a producer would. */
  publish(jobId: string, event?: string): Promise<void>;
  /** Starts the scheduler and the outbox poller in this process. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * A fresh database on the real Postgres server, a sample receiver and a dispatcher wired as in
 * `main.ts`, with the short delays that tests need.
 */
export async function startHarness(options: {
  env?: Record<string, string>;
  reply: (path: string, count: number) => Reply;
}): Promise<Harness> {
  const database = await createTestDatabase();
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });
  const db = connectPostgres({ url: database.url });
  await applyMigrations(db.sql);
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: options.reply });
  const parsed = parseConfig({
    DATABASE_URL: database.url,
    WEBHOOK_RETRY_BASE_DELAY: "100ms",
    WEBHOOK_RETRY_JITTER: "0",
    WEBHOOK_TIMEOUT: "2s",
    POLL_INTERVAL: "100ms",
    // The receiver is on loopback, which the destination guard closes by default.
    WEBHOOK_ALLOWED_CIDRS: "127.0.0.0/8",
    ...options.env,
  });
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  const logLines: string[] = [];
  const sender = createUndiciSender({ policy: parsed.config.destinationPolicy, connections: parsed.config.perDestinationConcurrency });
  const dispatcher = wireDispatcher({
    config: parsed.config,
    db,
    sender,
    hmac: nodeCryptoHmacSha256,
    clock: systemClock,
    random: Math.random,
    newId: randomUUID,
    logger: createPinoLogger({ level: "debug", destination: { write: (line) => logLines.push(line) } }),
  });
  const controller = new AbortController();
  let running: Promise<void> | null = null;
  return {
    url: database.url,
    sql,
    db,
    receiver,
    config: parsed.config,
    dispatcher,
    logLines,
    async addJob(path, jobOptions = {}) {
      const id = randomUUID();
      const failed = jobOptions.status === "failed";
      const secret = jobOptions.secret === undefined ? TEST_SECRET : jobOptions.secret;
      await sql`insert into jobs (id, status, finished_at, output_markup, error_code, error_message, webhook_url, webhook_secret)
                values (${id}, ${failed ? "failed" : "succeeded"}, now(), ${failed ? null : "<story/>"}, ${failed ? "E1" : null},
                        ${failed ? "boom" : null}, ${path === null ? null : receiver.url + path}, ${secret})`;
      return id;
    },
    async publish(jobId, event = "job.succeeded") {
      await sql`insert into webhook_outbox (job_id, event, trace_id) values (${jobId}, ${event}, ${"trace-" + jobId})`;
      dispatcher.outboxPoller.wake();
    },
    start() {
      running = dispatcher.run(controller.signal);
    },
    async stop() {
      controller.abort();
      await running;
      await sender.close();
      await db.close();
      await sql.end();
      await receiver.close();
      await database.drop();
    },
  };
}

/** The delivery rows of one job, as the database has them. */
export async function deliveriesOf(sql: postgres.Sql, jobId: string) {
  return sql<{ id: string; status: string; attempts: number; last_error: string | null }[]>`
    select id, status, attempts, last_error from webhook_deliveries where job_id = ${jobId}`;
}

export async function attemptsOf(sql: postgres.Sql, deliveryId: string) {
  return sql<{ attempt_number: number; status_code: number | null; error_kind: string | null; outcome: string }[]>`
    select attempt_number, status_code, error_kind, outcome from webhook_delivery_attempts
    where delivery_id = ${deliveryId} order by attempt_number`;
}
