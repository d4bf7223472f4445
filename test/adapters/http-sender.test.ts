import { once } from "node:events";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createUndiciSender, type UndiciSenderOptions } from "../../src/adapters/http/undici-sender.ts";
import type { DestinationPolicy } from "../../src/domain/destination-policy.ts";
import { parseCidr, type Cidr } from "../../src/domain/ip-address.ts";
import type { SendError, SendErrorKind, SendResponse, SendResult } from "../../src/domain/send-result.ts";
import type { WebhookRequest, WebhookSender } from "../../src/ports/webhook-sender.ts";
import { freePort, startReceiver as startLocalReceiver, type Receiver, type ReceiverOptions, type Respond } from "../support/local-receiver.ts";
import { within } from "../support/wait-for.ts";

/** The receivers here listen on loopback, which the destination guard denies unless allowed. */
const loopbackAllowed: DestinationPolicy = { allowPrivateNetworks: false, allowedCidrs: [parseCidr("127.0.0.0/8") as Cidr] };

const openReceivers: Receiver[] = [];
const openSenders: WebhookSender[] = [];

afterEach(async () => {
  await Promise.all(openSenders.splice(0).map((sender) => sender.close()));
  await Promise.all(openReceivers.splice(0).map((receiver) => receiver.close()));
});

async function startReceiver(respond: Respond, options: ReceiverOptions = {}): Promise<Receiver> {
  const receiver = await startLocalReceiver(respond, options);
  openReceivers.push(receiver);
  return receiver;
}

const signature = "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd";

function webhook(url: string, overrides: Partial<WebhookRequest> = {}): WebhookRequest {
  return {
    url,
    headers: { "Content-Type": "application/json", "X-GS-Signature": signature },
    body: new TextEncoder().encode('{"job_id":"1"}'),
    timeoutMs: 5_000,
    ...overrides,
  };
}

function expectResponse(result: SendResult): SendResponse {
  if (result.kind !== "response") throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

function expectError(result: SendResult, kind: SendErrorKind): SendError {
  if (result.kind !== "error") throw new Error(`expected ${kind}, got status ${result.status}`);
  expect(result.error, result.message).toBe(kind);
  expect(result.message).not.toContain(signature);
  return result;
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("undici sender", () => {
  const newSender = (options: UndiciSenderOptions = {}) => {
    const sender = createUndiciSender({ policy: loopbackAllowed, ...options });
    openSenders.push(sender);
    return sender;
  };

  it("returns the status and body snippet of a 2xx answer", async () => {
    const receiver = await startReceiver((_req, res) => res.end("thanks"));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response).toMatchObject({ status: 200, retryAfter: null, location: null, bodyTruncated: false });
    expect(text(response.bodySnippet)).toBe("thanks");
    expect(response.durationMs).toBeGreaterThan(0);
  }, 10_000);

  it("sends a POST with the exact body bytes, the given headers and accept-encoding identity", async () => {
    const receiver = await startReceiver((_req, res) => res.end());
    const body = new Uint8Array([0x7b, 0x00, 0xff, 0xfe, 0x0a, 0x7d]);
    const headers = { "Content-Type": "application/json", "X-GS-Signature": signature, "webhook-id": "msg_1", "Accept-Encoding": "gzip, br" };
    expectResponse(await newSender().send(webhook(receiver.url, { body, headers })));
    const [received] = receiver.requests;
    expect(received?.method).toBe("POST");
    expect(received?.body.equals(body)).toBe(true);
    expect(received?.headers).toMatchObject({
      "content-type": "application/json",
      "x-gs-signature": signature,
      "webhook-id": "msg_1",
      "accept-encoding": "identity",
      "content-length": "6",
    });
  }, 10_000);

  it("returns a 500 answer as a response, not an error", async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(500).end("boom"));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response.status).toBe(500);
    expect(text(response.bodySnippet)).toBe("boom");
  }, 10_000);

  it("returns a 302 with its Location and does not follow it", async () => {
    const target = await startReceiver((_req, res) => res.end());
    const receiver = await startReceiver((_req, res) => res.writeHead(302, { location: target.url }).end("moved"));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response).toMatchObject({ status: 302, location: target.url });
    expect(target.connections()).toBe(0);
  }, 10_000);

  it("captures the Retry-After header", async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(503, { "retry-after": "120" }).end());
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response).toMatchObject({ status: 503, retryAfter: "120" });
  }, 10_000);

  it("keeps only the snippet of a body longer than the cap and flags it as truncated", async () => {
    const body = Buffer.alloc(200 * 1024, "abcdefgh");
    const receiver = await startReceiver((_req, res) => res.end(body));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response.bodyTruncated).toBe(true);
    expect(Buffer.from(response.bodySnippet).equals(body.subarray(0, 4096))).toBe(true);
  }, 10_000);

  it("flags a body between the snippet size and the cap as truncated", async () => {
    const body = Buffer.alloc(10 * 1024, "x");
    const receiver = await startReceiver((_req, res) => res.end(body));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(response).toMatchObject({ bodyTruncated: true });
    expect(response.bodySnippet.length).toBe(4096);
  }, 10_000);

  it("stops reading an endless body at the cap, answers before the deadline and closes the connection", async () => {
    let connectionClosed: Promise<unknown> = Promise.resolve();
    const receiver = await startReceiver((_req, res) => {
      connectionClosed = once(res, "close");
      res.on("error", () => {});
      res.writeHead(200, { "content-type": "application/octet-stream" });
      const chunk = Buffer.alloc(16 * 1024, "z");
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on("drain", pump);
      pump();
    });
    // The body never ends: only stopping at the cap gives a response; reading on would end in a timeout.
    const response = expectResponse(await newSender().send(webhook(receiver.url, { timeoutMs: 20_000 })));
    expect(response).toMatchObject({ status: 200, bodyTruncated: true });
    expect(response.bodySnippet.length).toBe(4096);
    await within(20_000, "the receiver seeing its connection closed", connectionClosed);
  }, 30_000);

  it("times out at timeoutMs when the receiver never answers", async () => {
    const timeoutMs = 1_000;
    const receiver = await startReceiver(() => {});
    const startedAt = performance.now();
    const error = expectError(await newSender().send(webhook(receiver.url, { timeoutMs })), "timeout");
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 10);
    expect(error.durationMs).toBeGreaterThanOrEqual(timeoutMs - 10);
    // Far below undici's own header timeout (300 s): the request's deadline is what ended it.
    expect(elapsed).toBeLessThan(10 * timeoutMs);
  }, 30_000);

  it("cuts a body trickling one byte per second at the deadline as a timeout", async () => {
    const timeoutMs = 1_500;
    let connectionClosed: Promise<unknown> = Promise.resolve();
    const receiver = await startReceiver((_req, res) => {
      connectionClosed = once(res, "close");
      res.writeHead(200, { "content-type": "text/plain" });
      const trickle = setInterval(() => res.write("."), 1_000);
      res.on("close", () => clearInterval(trickle));
    });
    const startedAt = performance.now();
    expectError(await newSender().send(webhook(receiver.url, { timeoutMs })), "timeout");
    const elapsed = performance.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 10);
    // Each byte restarts undici's own body timeout, so without the whole-request deadline the trickle never ends.
    expect(elapsed).toBeLessThan(10 * timeoutMs);
    await within(20_000, "the receiver seeing its connection closed", connectionClosed);
  }, 30_000);

  it("reports connection_refused when nothing listens on the port", async () => {
    const port = await freePort();
    expectError(await newSender().send(webhook(`http://127.0.0.1:${port}/hook`)), "connection_refused");
  }, 10_000);

  it("reports connection_reset when the receiver destroys the socket mid-response", async () => {
    const receiver = await startReceiver((req, res) => {
      res.writeHead(200, { "content-length": "1000" });
      res.write("partial", () => req.socket.destroy());
    });
    expectError(await newSender().send(webhook(receiver.url)), "connection_reset");
  }, 10_000);

  it("reports connection_reset when the receiver destroys the socket before answering", async () => {
    const receiver = await startReceiver((req) => req.socket.destroy());
    expectError(await newSender().send(webhook(receiver.url)), "connection_reset");
  }, 10_000);

  it("reports dns_failure for a host that cannot resolve", async () => {
    // A stub resolver failing as node:dns does: tests send no DNS query off this machine.
    const notFound = Object.assign(new Error("getaddrinfo ENOTFOUND nonexistent.invalid"), { code: "ENOTFOUND" });
    const sender = newSender({ lookup: (_hostname, _options, callback) => callback(notFound, []) });
    expectError(await sender.send(webhook("http://nonexistent.invalid/hook")), "dns_failure");
  }, 10_000);

  it("reports tls_error for a receiver with an untrusted certificate", async () => {
    const receiver = await startReceiver((_req, res) => res.end(), { tls: true });
    expectError(await newSender().send(webhook(receiver.url)), "tls_error");
  }, 10_000);

  it.each([
    ["an ftp URL", (port: number) => `ftp://127.0.0.1:${port}/hook`],
    ["a URL with credentials", (port: number) => `http://user:s3cret@127.0.0.1:${port}/hook`],
    ["text that is not a URL", () => "not a url"],
  ])("rejects %s as invalid_url without connecting", async (_label, urlFor) => {
    const receiver = await startReceiver((_req, res) => res.end());
    const port = Number(new URL(receiver.url).port);
    const error = expectError(await newSender().send(webhook(urlFor(port))), "invalid_url");
    expect(error.message).not.toContain("s3cret");
    expect(receiver.connections()).toBe(0);
  }, 10_000);

  const gzipped = gzipSync(Buffer.alloc(1024 * 1024, 0));

  it("returns a gzip-encoded body as raw bytes, not inflated", async () => {
    const receiver = await startReceiver((_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(gzipped));
    const response = expectResponse(await newSender().send(webhook(receiver.url)));
    expect(Buffer.from(response.bodySnippet).equals(gzipped)).toBe(true);
    expect(response.bodyTruncated).toBe(false);
  }, 10_000);

  it("reuses one TCP connection for two sequential sends", async () => {
    const receiver = await startReceiver((_req, res) => res.end(Buffer.alloc(10 * 1024, "k")));
    const sender = newSender();
    expectResponse(await sender.send(webhook(receiver.url)));
    // undici hands a pipelining-1 socket back to its pool one event-loop turn after the
    // response ends (client-h1 `setImmediate(resume)`); a send issued within that same turn
    // opens a second connection. A real caller persists the attempt in between.
    await new Promise((resolve) => setImmediate(resolve));
    expectResponse(await sender.send(webhook(receiver.url)));
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.connections()).toBe(1);
  }, 10_000);

  it("times out a request queued behind a busy connection at its own deadline, while the busy one still waits", async () => {
    const receiver = await startReceiver(() => {});
    const sender = newSender({ connections: 1 });
    let busySettled = false;
    const busy = sender.send(webhook(receiver.url, { timeoutMs: 60_000 })).finally(() => (busySettled = true));
    await within(20_000, "the first request arriving", receiver.nextRequest());
    const startedAt = performance.now();
    expectError(await sender.send(webhook(receiver.url, { timeoutMs: 500 })), "timeout");
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(490);
    // The queued request did not wait for the connection to come free: the busy one is still unanswered.
    expect(busySettled).toBe(false);
    expect(receiver.requests).toHaveLength(1);
    await receiver.close();
    expect((await busy).kind).toBe("error");
  }, 30_000);
});
