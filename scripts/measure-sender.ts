/**
 * Throughput of the webhook sender against a local node:http receiver: 5,000 POSTs, 32 at a
 * time, after a warm-up. Not a test; run with `npx tsx scripts/measure-sender.ts`.
 */
import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createUndiciSender } from "../src/adapters/http/undici-sender.ts";
import { parseCidr, type Cidr } from "../src/domain/ip-address.ts";
import type { WebhookRequest, WebhookSender } from "../src/ports/webhook-sender.ts";

const totalRequests = 5_000;
const concurrency = 32;
const warmUpRequests = 500;

const receiver = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
});
receiver.listen(0, "127.0.0.1");
await once(receiver, "listening");
const { port } = receiver.address() as AddressInfo;

const request: WebhookRequest = {
  url: `http://127.0.0.1:${port}/hook`,
  headers: { "content-type": "application/json", "user-agent": "Stories-Webhook/1.0" },
  body: new TextEncoder().encode(JSON.stringify({ job_id: "8d1c", status: "succeeded", output_markup: "x".repeat(512) })),
  timeoutMs: 30_000,
};

async function run(sender: WebhookSender, count: number): Promise<{ seconds: number; failures: number }> {
  let started = 0;
  let failures = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (started < count) {
      started++;
      const result = await sender.send(request);
      if (result.kind !== "response" || result.status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: (performance.now() - startedAt) / 1_000, failures };
}

// The receiver is on loopback, which the destination guard denies unless allowed.
const policy = { allowPrivateNetworks: false, allowedCidrs: [parseCidr("127.0.0.1/32") as Cidr] };
const senders: Array<[string, () => WebhookSender]> = [
  ["undici.request (Agent, 32 connections)", () => createUndiciSender({ connections: concurrency, policy })],
];

console.log(`node ${process.version}, ${totalRequests} POSTs, concurrency ${concurrency}`);
for (const [name, create] of senders) {
  const sender = create();
  await run(sender, warmUpRequests);
  const { seconds, failures } = await run(sender, totalRequests);
  await sender.close();
  const perSecond = Math.round(totalRequests / seconds);
  console.log(`${name.padEnd(40)} ${String(perSecond).padStart(6)} requests/s  (${seconds.toFixed(2)} s, ${failures} failures)`);
}

receiver.closeAllConnections();
receiver.close();
