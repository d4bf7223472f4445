import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSignatureVerifier, type SignatureCheck } from "./verify-signatures.ts";

/** What the receiver answers to one request. */
export interface Reply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Wait this long before answering, ms (a slow receiver). */
  readonly delayMs?: number;
}

export interface Receipt {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly receivedAt: number;
  /** Which of our two signature schemes verified with the path's secret. */
  readonly verified: SignatureCheck;
  /** 1 for the first request to this path, 2 for the second, ... */
  readonly countForPath: number;
  readonly reply: Reply;
}

export interface SampleReceiver {
  readonly url: string;
  readonly receipts: readonly Receipt[];
  close(): Promise<void>;
}

/**
 * A webhook receiver that does what a customer's should: verify the signature (both schemes, as
 * docs/webhooks.md says), then answer. `reply` decides the answer per path and request count,
 * so one receiver can be healthy, flaky, failing and slow at once.
 */
export async function startSampleReceiver(options: {
  secretFor: (path: string) => string | null;
  reply: (path: string, countForPath: number) => Reply;
  port?: number;
  onReceipt?: (receipt: Receipt) => void;
}): Promise<SampleReceiver> {
  const receipts: Receipt[] = [];
  const counts = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    const body = await readBody(request);
    const path = new URL(request.url ?? "/", "http://receiver").pathname;
    const countForPath = (counts.get(path) ?? 0) + 1;
    counts.set(path, countForPath);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(", ") : (value ?? "")]),
    );
    const reply = options.reply(path, countForPath);
    const receipt: Receipt = {
      path,
      headers,
      body,
      receivedAt: Date.now(),
      verified: verifySignatures(options.secretFor(path), headers, body),
      countForPath,
      reply,
    };
    receipts.push(receipt);
    options.onReceipt?.(receipt);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (response.destroyed) return;
    response.writeHead(reply.status, { "content-type": "text/plain", ...reply.headers });
    response.end(reply.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    receipts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function verifySignatures(secret: string | null, headers: Readonly<Record<string, string>>, body: Buffer): SignatureCheck {
  if (secret === null) return { standardWebhooks: false, hexHmac: false };
  return createSignatureVerifier(secret)(headers, body);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}
