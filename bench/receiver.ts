/**
 * The benchmark's webhook receiver, a process of its own (started by receiver-client.ts with
 * child_process.fork) so that its CPU is not the dispatcher's or the benchmark's. It listens on
 * eight ports of 127.0.0.1 — eight origins, so the dispatcher's per-destination limit treats them
 * as eight customers (most scenarios use the first one or two) — verifies both signatures of
 * every request as a customer would, records when each job_id first arrived, and answers by
 * path: /ok 200, /fail 500, /hang never (until the client gives up and closes the connection).
 *
 * IPC: the parent sends `{id, type, ...}`; this process answers `{id, result}` or `{id, error}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createSignatureVerifier } from "../scripts/verify-signatures.ts";

/** Ports listened on, each an origin of its own. */
const ORIGINS = 8;
const verifySignatures = createSignatureVerifier(process.env.BENCH_SECRET ?? "");
const now = () => performance.timeOrigin + performance.now();

interface PathCounts {
  requests: number;
  unique: number;
}

let counts = new Map<string, PathCounts>();
// First receipt per job_id, epoch ms with sub-ms precision (same clock as the parent's produce times).
let firstReceipt = new Map<string, number>();
let signatureFailures = 0;
let firstAt = 0;
let lastAt = 0;
let cpuAtReset = process.cpuUsage();
const waiters: Array<{ path: string; count: number; resolve: () => void }> = [];
// Held only so a /hang response is not collected; never answered.
const hanging = new Set<ServerResponse>();

function verified(headers: IncomingMessage["headers"], body: Buffer): boolean {
  const check = verifySignatures(headers as Record<string, string>, body);
  return check.standardWebhooks && check.hexHmac;
}

function record(path: string, body: Buffer, headers: IncomingMessage["headers"]): void {
  const at = now();
  if (!verified(headers, body)) signatureFailures++;
  const entry = counts.get(path) ?? { requests: 0, unique: 0 };
  counts.set(path, entry);
  entry.requests++;
  let jobId = "";
  try {
    jobId = (JSON.parse(body.toString("utf8")) as { job_id?: string }).job_id ?? "";
  } catch {
    signatureFailures++;
  }
  const key = `${path} ${jobId}`;
  if (!firstReceipt.has(key)) {
    firstReceipt.set(key, at);
    entry.unique++;
  }
  if (path === "/ok") {
    if (firstAt === 0) firstAt = at;
    lastAt = at;
  }
  for (let i = waiters.length - 1; i >= 0; i--) {
    const waiter = waiters[i]!;
    if ((counts.get(waiter.path)?.unique ?? 0) >= waiter.count) {
      waiters.splice(i, 1);
      waiter.resolve();
    }
  }
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const path = (request.url ?? "/").split("?")[0]!;
    record(path, Buffer.concat(chunks), request.headers);
    if (path === "/hang") {
      hanging.add(response);
      response.on("close", () => hanging.delete(response));
      return;
    }
    const status = path === "/ok" ? 200 : path === "/fail" ? 500 : 404;
    response.writeHead(status, { "content-type": "application/json", "content-length": "11" });
    response.end('{"ok":true}');
  });
}

async function listen(): Promise<number> {
  const server = createServer({ keepAlive: true }, handle);
  // /hang must outlast any client deadline; the server's own timeouts would answer it first.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", 511, resolve));
  return (server.address() as AddressInfo).port;
}

type Request =
  | { id: number; type: "reset" }
  | { id: number; type: "wait"; path: string; count: number }
  | { id: number; type: "stats" }
  | { id: number; type: "receipts"; path: string };

function answer(request: Request): unknown {
  switch (request.type) {
    case "reset":
      counts = new Map();
      firstReceipt = new Map();
      signatureFailures = 0;
      firstAt = 0;
      lastAt = 0;
      waiters.length = 0;
      cpuAtReset = process.cpuUsage();
      return null;
    case "stats": {
      const cpu = process.cpuUsage(cpuAtReset);
      return {
        counts: Object.fromEntries(counts),
        signatureFailures,
        firstOkAt: firstAt,
        lastOkAt: lastAt,
        cpuMicros: cpu.user + cpu.system,
      };
    }
    case "receipts": {
      const prefix = `${request.path} `;
      const out: Array<[string, number]> = [];
      for (const [key, at] of firstReceipt) if (key.startsWith(prefix)) out.push([key.slice(prefix.length), at]);
      return out;
    }
    case "wait":
      return undefined;
  }
}

process.on("message", (request: Request) => {
  if (request.type === "wait") {
    // The parent bounds the wait; here it only resolves once enough distinct jobs arrived.
    const done = () => process.send!({ id: request.id, result: null });
    if ((counts.get(request.path)?.unique ?? 0) >= request.count) done();
    else waiters.push({ path: request.path, count: request.count, resolve: done });
    return;
  }
  process.send!({ id: request.id, result: answer(request) });
});
process.on("disconnect", () => process.exit(0));

const ports: number[] = [];
for (let i = 0; i < ORIGINS; i++) ports.push(await listen());
process.send!({ id: 0, result: { ports } });
