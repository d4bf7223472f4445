import type { WebhookSender } from "../../ports/webhook-sender.ts";
import { readCappedBody, resolveBodyLimits, sendWithDeadline, type Exchange } from "./send-support.ts";

export interface FetchSenderOptions {
  /** Response bytes read at most (default 64 KiB); a longer body is cancelled. */
  readonly maxResponseBytes?: number;
  /** Response bytes kept as the snippet (default 4 KiB). */
  readonly snippetBytes?: number;
  /** The `fetch` to use; the runtime's global one by default. */
  readonly fetch?: typeof fetch;
}

/**
 * The webhook sender on the web-standard `fetch`, for runtimes without undici (Deno).
 *
 * Runtime differences, measured: Deno honours our `accept-encoding: identity` and returns a
 * compressed body as raw bytes, while Node's global fetch inflates any `content-encoding` it
 * gets (the cap then applies to the inflated bytes, so memory stays bounded). Deno's errors carry
 * no codes, so they are classified by message. Connection pooling is the runtime's own.
 */
export function createFetchSender(options: FetchSenderOptions = {}): WebhookSender {
  const limits = resolveBodyLimits(options);
  const fetchImpl = options.fetch ?? globalThis.fetch;

  const exchange: Exchange = async (outgoing, signal) => {
    const response = await fetchImpl(outgoing.url, {
      method: "POST",
      headers: outgoing.headers,
      body: arrayBufferBacked(outgoing.body),
      redirect: "manual",
      // Aborting also errors a body still being read, so one signal covers the whole exchange.
      signal,
    });
    const read = response.body === null
      ? { bodySnippet: new Uint8Array(0), bodyTruncated: false }
      : await readCappedBody(chunksOf(response.body), limits);
    return {
      status: response.status,
      retryAfter: response.headers.get("retry-after"),
      location: response.headers.get("location"),
      ...read,
    };
  };

  return {
    send: (request) => sendWithDeadline(request, exchange),
    // Nothing pooled here: the runtime owns fetch's connections.
    close: async () => {},
  };
}

/** `BodyInit` excludes views of a SharedArrayBuffer, which the port's `Uint8Array` allows. */
function arrayBufferBacked(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

/** Iterates a body through its reader, cancelling it when the caller stops early. */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    // Not awaited: cancelling must not be able to hold up the result.
    if (!finished) reader.cancel().catch(() => {});
  }
}
