import net from "node:net";
import tls from "node:tls";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LookupAll } from "../../src/adapters/http/destination-guard.ts";
import { createUndiciSender, type UndiciSenderOptions } from "../../src/adapters/http/undici-sender.ts";
import type { DestinationPolicy } from "../../src/domain/destination-policy.ts";
import { parseCidr, type Cidr } from "../../src/domain/ip-address.ts";
import type { SendError, SendErrorKind, SendResponse, SendResult } from "../../src/domain/send-result.ts";
import type { WebhookRequest, WebhookSender } from "../../src/ports/webhook-sender.ts";
import { selfSignedTls, startReceiver, type Receiver, type ReceiverOptions, type Respond } from "../support/local-receiver.ts";
import { within } from "../support/wait-for.ts";

/**
 * The destination guard at connect time, with real sockets on loopback only. A canary listens
 * on 127.0.0.1, which every sender here denies; 127.0.0.2 plays the allowed, "public" receiver
 * (allowed through `allowedCidrs`), on the canary's port so that one URL can point at either.
 */

interface Canary {
  readonly port: number;
  connections(): number;
  close(): Promise<void>;
}

async function startCanary(): Promise<Canary> {
  let connections = 0;
  const server = net.createServer((socket) => socket.destroy());
  server.on("connection", () => connections++);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const allowsReceiver: DestinationPolicy = { allowPrivateNetworks: false, allowedCidrs: [parseCidr("127.0.0.2/32") as Cidr] };

/** A resolver stub answering each call with the next answer (the last one repeats), recording the names. */
function resolver(...answers: Array<string[] | Error>): { lookup: LookupAll; names: string[] } {
  const names: string[] = [];
  const lookup: LookupAll = (hostname, options, callback) => {
    expect(options.all).toBe(true);
    names.push(hostname);
    const answer = answers[Math.min(names.length, answers.length) - 1] ?? [];
    // Asynchronous, as a real lookup is.
    setImmediate(() => {
      if (answer instanceof Error) callback(answer, []);
      else callback(null, answer.map((address) => ({ address, family: address.includes(":") ? 6 : 4 })));
    });
  };
  return { lookup, names };
}

let canary: Canary;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
  canary = await startCanary();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  // Whatever the case, nothing ever reached the denied address.
  expect(canary.connections()).toBe(0);
  await canary.close();
});

function newSender(options: UndiciSenderOptions): WebhookSender {
  const sender = createUndiciSender(options);
  cleanups.push(() => sender.close());
  return sender;
}

async function receiverOnAllowedAddress(respond: Respond, options: ReceiverOptions = {}): Promise<Receiver> {
  const receiver = await startReceiver(respond, { host: "127.0.0.2", port: canary.port, ...options });
  cleanups.push(() => receiver.close());
  return receiver;
}

function webhook(url: string): WebhookRequest {
  return { url, headers: { "content-type": "application/json" }, body: new TextEncoder().encode("{}"), timeoutMs: 5_000 };
}

function expectError(result: SendResult, kind: SendErrorKind): SendError {
  if (result.kind !== "error") throw new Error(`expected ${kind}, got status ${result.status}`);
  expect(result.error, result.message).toBe(kind);
  return result;
}

function expectResponse(result: SendResult): SendResponse {
  if (result.kind !== "response") throw new Error(`expected a response, got ${JSON.stringify(result)}`);
  return result;
}

describe("the destination guard", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1 is in 127.0.0.0/8 (loopback)"],
    ["127.1", "127.0.0.1 is in 127.0.0.0/8 (loopback)"],
    ["2130706433", "127.0.0.1 is in 127.0.0.0/8 (loopback)"],
    ["0x7f000001", "127.0.0.1 is in 127.0.0.0/8 (loopback)"],
    ["017700000001", "127.0.0.1 is in 127.0.0.0/8 (loopback)"],
    ["[::ffff:7f00:1]", "::ffff:127.0.0.1 is IPv4-mapped 127.0.0.1, which is in 127.0.0.0/8 (loopback)"],
    ["[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is IPv4-mapped 127.0.0.1, which is in 127.0.0.0/8 (loopback)"],
    ["[::1]", "::1 is in ::1/128 (loopback)"],
  ])("blocks the literal host %s without connecting, naming the address and range", async (host, message) => {
    const sender = newSender({ policy: allowsReceiver });
    for (const scheme of ["http", "https"]) {
      const error = expectError(await sender.send(webhook(`${scheme}://${host}:${canary.port}/hook`)), "blocked_destination");
      expect(error.message).toBe(message);
    }
  });

  it("blocks loopback under the default policy", async () => {
    const receiver = await startReceiver((_req, res) => res.end());
    cleanups.push(() => receiver.close());
    const sender = newSender({});
    expectError(await sender.send(webhook(receiver.url)), "blocked_destination");
    expect(receiver.connections()).toBe(0);
  });

  it("blocks a name that resolves to a denied address", async () => {
    const { lookup, names } = resolver(["127.0.0.1"]);
    const sender = newSender({ policy: allowsReceiver, lookup });
    const error = expectError(await sender.send(webhook(`http://hook.test:${canary.port}/hook`)), "blocked_destination");
    expect(error.message).toBe("127.0.0.1 is in 127.0.0.0/8 (loopback) (resolved from hook.test)");
    expect(names).toEqual(["hook.test"]);
  });

  it.each([
    [["127.0.0.2", "127.0.0.1"]],
    [["127.0.0.1", "127.0.0.2"]],
    [["127.0.0.2", "::1"]],
  ])("blocks a name resolving to %j: every address must be allowed, and none is dialled", async (addresses) => {
    const receiver = await receiverOnAllowedAddress((_req, res) => res.end());
    const sender = newSender({ policy: allowsReceiver, lookup: resolver(addresses).lookup });
    expectError(await sender.send(webhook(`http://hook.test:${canary.port}/hook`)), "blocked_destination");
    expect(receiver.connections()).toBe(0);
  });

  it.each([
    ["a failed lookup", Object.assign(new Error("getaddrinfo ENOTFOUND hook.test"), { code: "ENOTFOUND" })],
    ["a lookup error without a code", new Error("resolver exploded")],
    ["an empty answer", []],
    ["an answer that is not an IP address", ["localhost"]],
  ])("fails closed as dns_failure on %s, connecting nowhere", async (_label, answer) => {
    const receiver = await receiverOnAllowedAddress((_req, res) => res.end());
    const sender = newSender({ policy: allowsReceiver, lookup: resolver(answer).lookup });
    const error = expectError(await sender.send(webhook(`http://hook.test:${canary.port}/hook`)), "dns_failure");
    expect(error.message).toContain("hook.test");
    expect(receiver.connections()).toBe(0);
  });

  it("delivers to an allowed address under its name, sending the name in the Host header", async () => {
    const receiver = await receiverOnAllowedAddress((_req, res) => res.end("thanks"));
    const { lookup, names } = resolver(["127.0.0.2"]);
    const sender = newSender({ policy: allowsReceiver, lookup });
    expect(expectResponse(await sender.send(webhook(`http://hook.test:${canary.port}/hook`))).status).toBe(200);
    expect(receiver.requests[0]?.headers.host).toBe(`hook.test:${canary.port}`);
    expect(names).toEqual(["hook.test"]);
  });

  it("dials the next checked address of a name when one refuses the connection", async () => {
    const receiver = await receiverOnAllowedAddress((_req, res) => res.end());
    // Nothing listens on 127.0.0.3; both addresses are allowed.
    const policy: DestinationPolicy = { allowPrivateNetworks: false, allowedCidrs: [parseCidr("127.0.0.2/31") as Cidr] };
    const sender = newSender({ policy, lookup: resolver(["127.0.0.3", "127.0.0.2"]).lookup });
    expect(expectResponse(await sender.send(webhook(`http://hook.test:${canary.port}/hook`))).status).toBe(200);
    expect(receiver.connections()).toBe(1);
  });

  it("presents the name, not the address, for TLS (SNI), and no name for a literal IP", async () => {
    const server = tls.createServer(selfSignedTls);
    const serverNames: Array<string | false | null> = [];
    let handshakeEnded = () => {};
    // The sender refuses the self-signed certificate, so every handshake ends as a client error.
    server.on("tlsClientError", (_err, socket) => {
      serverNames.push(socket.servername);
      handshakeEnded();
    });
    const nextHandshakeEnd = () => new Promise<void>((resolve) => (handshakeEnded = resolve));
    server.listen(canary.port, "127.0.0.2");
    await once(server, "listening");
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const sender = newSender({ policy: allowsReceiver, lookup: resolver(["127.0.0.2"]).lookup });

    let ended = nextHandshakeEnd();
    expectError(await sender.send(webhook(`https://hook.test:${canary.port}/hook`)), "tls_error");
    await within(2_000, "the first handshake ending", ended);
    ended = nextHandshakeEnd();
    expectError(await sender.send(webhook(`https://127.0.0.2:${canary.port}/hook`)), "tls_error");
    await within(2_000, "the second handshake ending", ended);
    expect(serverNames[0]).toBe("hook.test");
    // No SNI at all: RFC 6066 forbids an IP address there (Node reports none as null or false).
    expect(serverNames[1]).toBeFalsy();
  });

  it("returns a redirect towards a denied address with its Location, and never follows it", async () => {
    const target = `http://127.0.0.1:${canary.port}/internal`;
    const receiver = await receiverOnAllowedAddress((_req, res) => res.writeHead(302, { location: target }).end());
    const sender = newSender({ policy: allowsReceiver });
    const response = expectResponse(await sender.send(webhook(`http://127.0.0.2:${canary.port}/hook`)));
    expect(response).toMatchObject({ status: 302, location: target });
    expect(receiver.requests).toHaveLength(1);
  });

  it("checks every new connection, so a name re-pointed at loopback after a first delivery is blocked", async () => {
    // `connection: close` makes the second send open a new connection on the same sender.
    const receiver = await receiverOnAllowedAddress((_req, res) => res.writeHead(200, { connection: "close" }).end());
    const { lookup, names } = resolver(["127.0.0.2"], ["127.0.0.1"]);
    const sender = newSender({ policy: allowsReceiver, lookup });
    const url = `http://rebind.test:${canary.port}/hook`;
    expect(expectResponse(await sender.send(webhook(url))).status).toBe(200);
    const error = expectError(await sender.send(webhook(url)), "blocked_destination");
    expect(error.message).toContain("127.0.0.1");
    expect(names).toEqual(["rebind.test", "rebind.test"]);
    expect(receiver.connections()).toBe(1);
  });
});
