/**
 * The per-job work of both baselines (B1 graphile-worker, B2 BullMQ): the dispatcher's
 * per-delivery work, written the way a team would write it as a queue task. Per job: read the
 * job row from Postgres, build the body, sign it with both schemes, POST it with one deadline,
 * read the response (capped like the dispatcher's), insert the attempt row, and throw on
 * anything but 2xx so the queue retries. Each queue only wraps `deliverJob` in its own task shape.
 */
import { createHmac } from "node:crypto";
import type { QueryConfig, QueryResultRow } from "pg";
import type postgres from "postgres";
import { Agent, request } from "undici";

export interface DeliverJobOptions {
  /** Used only when a job row has no webhook_url / webhook_secret of its own. */
  readonly fallbackUrl: string;
  readonly fallbackSecret: string;
  /** The dispatcher's WEBHOOK_TIMEOUT default (30 s): connect, headers and body together. */
  readonly timeoutMs: number;
}

/** Runs one statement on a pg connection: a Pool's `query`, or graphile's `withPgClient`. */
export type RunQuery = <R extends QueryResultRow>(query: QueryConfig) => Promise<{ rows: R[] }>;

interface JobRow {
  id: string;
  status: string;
  finished_at: Date | null;
  output_markup: string | null;
  error_code: string | null;
  error_message: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
}

// Named, so pg prepares them once per connection, as postgres.js does for the dispatcher.
const READ_JOB = {
  name: "bench_baseline_read_job",
  text: `select id, status, finished_at, output_markup, error_code, error_message, webhook_url, webhook_secret
         from jobs where id = $1`,
};
const INSERT_ATTEMPT = {
  name: "bench_baseline_insert_attempt",
  text: `insert into bench_attempts (job_id, status_code, started_at, duration_ms, error)
         values ($1, $2, $3, $4, $5)`,
};
// The dispatcher reads at most 64 KiB of a response body and then drops the socket.
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Keep-alive agent like the dispatcher's sender (one request per socket), with 64 connections. */
export function makeAgent(): Agent {
  return new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000 });
}

/** One attempt for job `jobId`: read, sign, POST, record; throws unless the receiver said 2xx. */
export async function deliverJob(runQuery: RunQuery, agent: Agent, jobId: string, options: DeliverJobOptions): Promise<void> {
  const { rows } = await runQuery<JobRow>({ ...READ_JOB, values: [jobId] });
  const job = rows[0];
  if (job === undefined) throw new Error(`job ${jobId} not found`);

  const body = Buffer.from(JSON.stringify(webhookBody(job)));
  const webhookId = `msg_${job.id.replace(/-/g, "")}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers = signedHeaders(job.webhook_secret ?? options.fallbackSecret, webhookId, timestamp, body);

  const startedAt = new Date();
  let statusCode: number | null = null;
  let failure: string | null = null;
  try {
    const response = await request(job.webhook_url ?? options.fallbackUrl, {
      method: "POST",
      headers,
      body,
      dispatcher: agent,
      signal: AbortSignal.timeout(options.timeoutMs),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    statusCode = response.statusCode;
    await readCapped(response.body);
    if (statusCode < 200 || statusCode > 299) failure = `receiver answered ${statusCode}`;
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  const durationMs = Date.now() - startedAt.getTime();
  await runQuery({ ...INSERT_ATTEMPT, values: [job.id, statusCode, startedAt, durationMs, failure] });
  if (failure !== null) throw new Error(failure);
}

/** The table `deliverJob` writes one row per attempt into, as the dispatcher's webhook_delivery_attempts. */
export async function createAttemptsTable(sql: postgres.Sql): Promise<void> {
  await sql`
    create table if not exists bench_attempts (
      job_id uuid not null,
      status_code int,
      started_at timestamptz not null,
      duration_ms int not null,
      error text
    )`;
}

/** Attempts that got a 2xx so far: a baseline that is fast because it skipped work shows here. */
export async function successfulAttempts(sql: postgres.Sql): Promise<number> {
  const rows = await sql<{ n: number }[]>`select count(*)::int as n from bench_attempts where status_code between 200 and 299`;
  return rows[0]?.n ?? 0;
}

/** Same keys, order and null handling as the dispatcher's buildWebhookPayload. */
function webhookBody(job: JobRow): Record<string, unknown> {
  const head = { job_id: job.id, status: job.status, finished_at: job.finished_at?.toISOString() ?? null };
  return job.status === "succeeded"
    ? { ...head, output_markup: job.output_markup }
    : { ...head, error: { code: job.error_code, message: job.error_message } };
}

/** The dispatcher's headers for one secret: Standard Webhooks plus the legacy x-gs-signature. */
function signedHeaders(secret: string, webhookId: string, timestamp: string, body: Buffer): Record<string, string> {
  const standard = createHmac("sha256", standardKey(secret)).update(`${webhookId}.${timestamp}.`).update(body);
  const legacy = createHmac("sha256", Buffer.from(secret, "utf8")).update(body);
  return {
    "content-type": "application/json",
    "user-agent": "Stories-Webhook/1.0",
    "x-gs-timestamp": timestamp,
    "webhook-id": webhookId,
    "webhook-timestamp": timestamp,
    "x-gs-signature": legacy.digest("hex"),
    "webhook-signature": `v1,${standard.digest("base64")}`,
  };
}

/** Base64-decoded bytes after `whsec_`, else the UTF-8 bytes (the dispatcher's secretKeyBytes). */
function standardKey(secret: string): Buffer {
  if (secret.startsWith("whsec_")) {
    const decoded = Buffer.from(secret.slice("whsec_".length), "base64");
    if (decoded.length > 0) return decoded;
  }
  return Buffer.from(secret, "utf8");
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): unknown; destroyed: boolean }): Promise<void> {
  let read = 0;
  try {
    for await (const chunk of body) {
      read += chunk.length;
      if (read > MAX_RESPONSE_BYTES) break;
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
}
