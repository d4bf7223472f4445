import { Agent, request as undiciRequest, type Dispatcher } from "undici";
import type { WebhookSender } from "../../ports/webhook-sender.ts";
import {
  readCappedBody,
  resolveBodyLimits,
  sendWithDeadline,
  type Exchange,
  type ReceivedResponse,
} from "./send-support.ts";

export interface UndiciSenderOptions {
  /** Response bytes read at most (default 64 KiB); a longer body is cut and its socket dropped. */
  readonly maxResponseBytes?: number;
  /** Response bytes kept as the snippet (default 4 KiB). */
  readonly snippetBytes?: number;
  /** Keep-alive connections per origin (default 16); further requests queue. */
  readonly connections?: number;
  /**
   * A dispatcher to use instead of the sender's own agent; the caller owns and closes it, and
   * must not give it a redirect interceptor.
   */
  readonly dispatcher?: Dispatcher;
}

/**
 * undici's connect timeout is an agent option, not a request option, so it cannot follow each
 * request's `timeoutMs`. It only bounds how long a dead connect attempt holds a pool slot: the
 * request itself gives up at its own deadline (see `sendWithDeadline`).
 */
const connectTimeoutMs = 10_000;

/** The Node webhook sender: `undici.request` over a keep-alive agent, never following redirects. */
export function createUndiciSender(options: UndiciSenderOptions = {}): WebhookSender {
  const limits = resolveBodyLimits(options);
  const ownAgent =
    options.dispatcher === undefined
      ? new Agent({
          connections: options.connections ?? 16,
          // One request at a time per socket: a slow receiver must not stall the ones behind it.
          pipelining: 1,
          // Below the 5 s idle timeout of Node's http server and many proxies, so we rarely
          // write to a socket the receiver is closing.
          keepAliveTimeout: 4_000,
          keepAliveMaxTimeout: 60_000,
          connect: { timeout: connectTimeoutMs },
        })
      : undefined;
  const dispatcher: Dispatcher = options.dispatcher ?? (ownAgent as Agent);

  const exchange: Exchange = async (outgoing, signal) => {
    const response = await undiciRequest(outgoing.url, {
      method: "POST",
      headers: outgoing.headers,
      body: outgoing.body,
      dispatcher,
      signal,
      // Never larger than the whole deadline; the signal is what enforces it exactly.
      headersTimeout: outgoing.timeoutMs,
      bodyTimeout: outgoing.timeoutMs,
    });
    const body = response.body;
    // A body destroyed before its end emits an error; the read below already reports it.
    body.on("error", ignore);
    try {
      const read = await readCappedBody(body, limits);
      const received: ReceivedResponse = {
        status: response.statusCode,
        retryAfter: firstValue(response.headers["retry-after"]),
        location: firstValue(response.headers["location"]),
        ...read,
      };
      return received;
    } finally {
      // Releases the socket when the read stopped early or failed; a finished body is left alone.
      if (!body.destroyed) body.destroy();
    }
  };

  return {
    send: (request) => sendWithDeadline(request, exchange),
    close: async () => {
      await ownAgent?.close();
    },
  };
}

function firstValue(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}

function ignore(): void {}
