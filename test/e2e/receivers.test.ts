import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createGzip } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Reply } from "../../scripts/sample-receiver.ts";
import { deliveriesOf, startHarness, type Harness } from "../support/harness.ts";
import { waitFor } from "../support/wait-for.ts";

let harness: Harness | null = null;
const servers: Server[] = [];
afterEach(async () => {
  await harness?.stop();
  harness = null;
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function start(reply: (path: string, count: number) => Reply, env: Record<string, string> = {}): Promise<Harness> {
  harness = await startHarness({ env, reply });
  harness.start();
  return harness;
}

/** A raw receiver for answers the sample receiver cannot give (trickles, endless bodies). */
async function rawReceiver(respond: (response: ServerResponse) => void): Promise<string> {
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => respond(response));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function finalAttempts(h: Harness, jobId: string) {
  const delivery = await waitFor(`a final delivery for job ${jobId}`, async () => {
    const [row] = await deliveriesOf(h.sql, jobId);
    return row && row.status !== "pending" ? row : null;
  }, { timeoutMs: 30_000 });
  const attempts = await h.sql<{ started_at: Date; duration_ms: number; status_code: number | null; error_kind: string | null; error_message: string | null; response_body: string | null; location: string | null; outcome: string }[]>`
    select started_at, duration_ms, status_code, error_kind, error_message, response_body, location, outcome
    from webhook_delivery_attempts where delivery_id = ${delivery.id} order by attempt_number`;
  return { delivery, attempts };
}

/**
 * Gzip of `bytes` zero bytes, compressed one MiB at a time: the whole never sits in memory, where
 * it would inflate the RSS that a memory assertion takes as its baseline.
 */
async function gzippedZeros(bytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = once(gzip, "end");
  const zeros = Buffer.alloc(1024 ** 2);
  for (let written = 0; written < bytes; written += zeros.length) {
    if (!gzip.write(zeros)) await once(gzip, "drain");
  }
  gzip.end();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Runs `work` while sampling this process's RSS every 5 ms; returns its result and the most the
 * RSS grew above its value just before, in bytes, so a short-lived spike counts too.
 */
async function withPeakRssGrowth<T>(work: () => Promise<T>): Promise<{ result: T; peakGrowth: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sample = () => (peak = Math.max(peak, process.memoryUsage.rss()));
  const sampler = setInterval(sample, 5);
  try {
    const result = await work();
    sample();
    return { result, peakGrowth: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

async function jobAt(h: Harness, url: string): Promise<string> {
  const jobId = await h.addJob("/unused");
  await h.sql`update jobs set webhook_url = ${url} where id = ${jobId}`;
  await h.publish(jobId);
  return jobId;
}

/**
 * Slack for comparing times taken on this host's one clock and stored to the millisecond: the
 * next attempt is claimed only once due, so it can start no earlier than it was scheduled.
 */
const CLOCK_TOLERANCE_MS = 5;

describe("receivers' signals", () => {
  it("waits at least the Retry-After seconds of a 429 before the next attempt", async () => {
    const h = await start((_p, n) => (n === 1 ? { status: 429, headers: { "retry-after": "2" } } : { status: 200 }));
    const jobId = await h.addJob("/limited");
    await h.publish(jobId);
    const { delivery, attempts } = await finalAttempts(h, jobId);
    expect(delivery.status).toBe("sent");
    const gapMs = attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime();
    // The backoff alone (100 ms here) would have retried far sooner.
    expect(gapMs).toBeGreaterThanOrEqual(2_000 - CLOCK_TOLERANCE_MS);
  });

  it("honours a Retry-After HTTP date on a 503: the next attempt starts no earlier than that date", async () => {
    let retryAfter: string | null = null;
    const h = await start((_p, n) => {
      if (n > 1) return { status: 200 };
      retryAfter = new Date(Date.now() + 3_000).toUTCString();
      return { status: 503, headers: { "retry-after": retryAfter } };
    });
    const jobId = await h.addJob("/maintenance");
    await h.publish(jobId);
    const { delivery, attempts } = await finalAttempts(h, jobId);
    expect(delivery.status).toBe("sent");
    // Whole seconds: the date is 2 to 3 s after the first attempt, never less than 2 s.
    const notBefore = Date.parse(retryAfter!);
    expect(notBefore - attempts[0]!.started_at.getTime()).toBeGreaterThanOrEqual(2_000 - CLOCK_TOLERANCE_MS);
    expect(attempts[1]!.started_at.getTime()).toBeGreaterThanOrEqual(notBefore - CLOCK_TOLERANCE_MS);
  });

  it("caps a Retry-After at WEBHOOK_RETRY_MAX_DELAY", async () => {
    const h = await start((_p, n) => (n === 1 ? { status: 429, headers: { "retry-after": "3600" } } : { status: 200 }), { WEBHOOK_RETRY_MAX_DELAY: "1s" });
    const jobId = await h.addJob("/limited");
    await h.publish(jobId);
    const { delivery, attempts } = await finalAttempts(h, jobId);
    expect(delivery.status).toBe("sent");
    const gapMs = attempts[1]!.started_at.getTime() - attempts[0]!.started_at.getTime();
    // Waited for the cap, not the 100 ms backoff (the Retry-After counted, up to the cap) ...
    expect(gapMs).toBeGreaterThanOrEqual(1_000 - CLOCK_TOLERANCE_MS);
    // ... and not the hour asked for: a bound 30 times the cap, and a 120th of the hour.
    expect(gapMs).toBeLessThan(30_000);
  });

  it("fails a delivery after one attempt when the receiver answers 410 Gone", async () => {
    const h = await start(() => ({ status: 410 }));
    const jobId = await h.addJob("/gone");
    await h.publish(jobId);
    const { delivery, attempts } = await finalAttempts(h, jobId);
    expect(delivery).toMatchObject({ status: "failed", attempts: 1 });
    expect(attempts.map((a) => [a.status_code, a.outcome])).toEqual([[410, "failed"]]);
  });

  it("retries a 3xx without following it, and records its Location", async () => {
    const h = await start((path, n) => (path === "/moved" && n === 1 ? { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } } : { status: 200 }));
    const jobId = await h.addJob("/moved");
    await h.publish(jobId);
    const { delivery, attempts } = await finalAttempts(h, jobId);
    expect(delivery).toMatchObject({ status: "sent", attempts: 2 });
    expect(attempts[0]).toMatchObject({ status_code: 302, outcome: "retry", location: "http://169.254.169.254/latest/meta-data/" });
    expect(h.receiver.receipts.map((r) => r.path)).toEqual(["/moved", "/moved"]);
  });
});

describe("hostile receivers", () => {
  const env = { WEBHOOK_TIMEOUT: "2s", WEBHOOK_MAX_RETRIES: "1" };

  it("cuts a body that trickles one byte at a time at the whole-request deadline, and records a timeout", async () => {
    const h = await start(() => ({ status: 200 }), env);
    const url = await rawReceiver((response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write("x")), 300);
      response.on("close", () => clearInterval(timer));
    });
    const { attempts } = await finalAttempts(h, await jobAt(h, `${url}/trickle`));
    // Every byte restarts undici's own body timeout: only the 2 s whole-request deadline ends a trickle.
    expect(attempts[0]).toMatchObject({ error_kind: "timeout", outcome: "failed" });
    expect(attempts[0]!.duration_ms).toBeGreaterThanOrEqual(2_000 - CLOCK_TOLERANCE_MS);
    expect(attempts[0]!.duration_ms).toBeLessThan(10 * 2_000);
  });

  it("reads an endless body only up to the cap and keeps its first 4 KiB", async () => {
    const h = await start(() => ({ status: 200 }), env);
    const url = await rawReceiver((response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(16 * 1024, "e");
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once("drain", pump);
      };
      pump();
    });
    const { delivery, attempts } = await finalAttempts(h, await jobAt(h, `${url}/endless`));
    // The body never ends: an answer, not a timeout, means reading stopped at the cap before the deadline.
    expect(delivery.status).toBe("sent");
    expect(attempts[0]).toMatchObject({ status_code: 200, error_kind: null, outcome: "sent" });
    expect(attempts[0]!.response_body).toBe("e".repeat(4096));
  });

  it("answers a 1 GB chunked body within the deadline without holding it in memory", async () => {
    const h = await start(() => ({ status: 200 }), env);
    let sentBytes = 0;
    const url = await rawReceiver((response) => {
      response.writeHead(500, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (!response.destroyed && sentBytes < 1024 ** 3 && response.write(chunk)) sentBytes += chunk.length;
        if (!response.destroyed && sentBytes < 1024 ** 3) response.once("drain", pump);
        else response.end();
      };
      pump();
    });
    const { result: { attempts }, peakGrowth } = await withPeakRssGrowth(async () => finalAttempts(h, await jobAt(h, `${url}/huge`)));
    // An answer, not a timeout: reading stopped at the cap, long before the gigabyte and the deadline.
    expect(attempts[0]).toMatchObject({ status_code: 500, error_kind: null, outcome: "failed" });
    expect(sentBytes).toBeLessThan(64 * 1024 ** 2);
    expect(peakGrowth).toBeLessThan(64 * 1024 ** 2);
  });

  it("never inflates a gzip bomb: the body is kept as the raw compressed bytes", async () => {
    const bomb = await gzippedZeros(256 * 1024 ** 2); // 256 MiB of zeros in about 256 KiB
    const h = await start(() => ({ status: 200 }), env);
    let acceptEncoding: string | undefined;
    const url = await rawReceiver((response) => {
      response.writeHead(200, { "content-encoding": "gzip", "content-type": "application/json" });
      response.end(bomb);
    });
    servers.at(-1)!.on("request", (request) => (acceptEncoding = request.headers["accept-encoding"]));
    const { result: { attempts }, peakGrowth } = await withPeakRssGrowth(async () => finalAttempts(h, await jobAt(h, `${url}/bomb`)));
    expect(acceptEncoding).toBe("identity");
    expect(attempts[0]).toMatchObject({ status_code: 200, outcome: "sent" });
    // The gzip magic bytes 1f 8b: 0x1f survives, 0x8b is not UTF-8 and is replaced.
    expect(attempts[0]!.response_body?.startsWith("\u001f\ufffd")).toBe(true);
    // Inflating would take 256 MiB; the baseline was taken with no large buffer alive.
    expect(peakGrowth).toBeLessThan(64 * 1024 ** 2);
  });

  it("stores a response with invalid UTF-8 and NUL bytes safely", async () => {
    const h = await start(() => ({ status: 200 }), env);
    const url = await rawReceiver((response) => {
      response.writeHead(400, { "content-type": "text/plain" });
      response.end(Buffer.from([0x6f, 0x6b, 0x00, 0xff, 0xfe, 0x21]));
    });
    const { attempts } = await finalAttempts(h, await jobAt(h, `${url}/binary`));
    expect(attempts[0]).toMatchObject({ status_code: 400, outcome: "failed", response_body: "ok\ufffd\ufffd!" });
  });
});

describe("blocked destinations", () => {
  it("fails a delivery to a denied address at once, with blocked_destination and the address on the attempt row, and never connects", async () => {
    // Only 127.0.0.2 is opened: the receiver on 127.0.0.1 is as private as any internal service.
    const h = await start(() => ({ status: 200 }), { WEBHOOK_ALLOWED_CIDRS: "127.0.0.2/32" });
    const loopback = await jobAt(h, `${h.receiver.url}/internal`);
    const metadata = await jobAt(h, "http://169.254.169.254/latest/meta-data/");
    for (const [jobId, address] of [[loopback, "127.0.0.1"], [metadata, "169.254.169.254"]] as const) {
      const { delivery, attempts } = await finalAttempts(h, jobId);
      expect(delivery).toMatchObject({ status: "failed", attempts: 1 });
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ error_kind: "blocked_destination", outcome: "failed", status_code: null });
      expect(attempts[0]!.error_message).toContain(address);
    }
    expect(h.receiver.receipts).toHaveLength(0);
  });
});
