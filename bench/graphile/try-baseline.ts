/**
 * Manual check of baseline B1 (not part of `npm run bench`): a scratch database with this
 * project's migrations and N finished jobs, a local receiver that verifies both signatures of
 * every request, then runGraphileBaseline with each setting.
 *
 *   npx tsx bench/graphile/try-baseline.ts [events=5000] [default|default64|batched ...]
 *
 * Needs PostgreSQL where TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * may create databases; the scratch database is dropped at the end.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import postgres from "postgres";
import { createSignatureVerifier } from "../../scripts/verify-signatures.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { runGraphileBaseline } from "../scenarios/b1-graphile-worker.ts";
import type { GraphileSettings } from "./settings.ts";

const events = Number(process.argv[2] ?? 5_000);
const modes = process.argv.length > 3 ? (process.argv.slice(3) as GraphileSettings[]) : (["default", "default64", "batched"] as const);
const adminUrl = process.env["TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/postgres";
const secret = `whsec_${randomBytes(24).toString("base64")}`;
const dbName = `b1_try_${process.pid}_${Date.now()}`;
const databaseUrl = withDatabase(adminUrl, dbName);

const received = { ok: 0, badSignature: 0, ids: new Set<string>() };
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    if (req.url === "/ok" && verify(req, body)) {
      received.ok += 1;
      received.ids.add(String(req.headers["webhook-id"]));
    } else {
      received.badSignature += 1;
    }
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});

const verifySignatures = createSignatureVerifier(secret);

/** Both schemes, checked with the Standard Webhooks library and node:crypto, not with the task's signing code. */
function verify(req: IncomingMessage, body: Buffer): boolean {
  const check = verifySignatures(req.headers as Record<string, string>, body);
  return check.standardWebhooks && check.hexHmac;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function main(): Promise<void> {
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await applyMigrations(sql);
    await sql`
      insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
      select gen_random_uuid(), 'succeeded', now(), '<article><h1>Story ' || g || '</h1><p>' || repeat('Once upon a time. ', 10) || '</p></article>',
             ${`${receiverUrl}/ok`}, ${secret}
      from generate_series(1, ${events}) as g`;
    console.log(`database ${dbName}: ${events} finished jobs; receiver ${receiverUrl}; node ${process.version}`);

    for (const settings of modes) {
      const before = received.ok;
      received.ids.clear();
      const result = await runGraphileBaseline({ databaseUrl, receiverUrl, secret, events, settings });
      const [attempts] = await sql<{ n: number }[]>`select count(*)::int as n from bench_attempts`;
      console.log(
        `${settings.padEnd(9)} drain ${result.drainMs.toFixed(0)} ms, ${result.eventsPerSecond.toFixed(0)} events/s, ` +
          `${result.cpuUsPerDelivery.toFixed(0)} µs CPU/delivery, peak RSS ${(result.peakRssBytes / 2 ** 20).toFixed(1)} MiB; ` +
          `receiver: ${received.ok - before} verified (${received.ids.size} distinct webhook-ids), ` +
          `${received.badSignature} rejected; bench_attempts total ${attempts?.n}`,
      );
    }
  } finally {
    await sql.end();
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end();
    receiver.close();
  }
}

await main();
