import type { SendErrorKind, SendResult } from "../../domain/send-result.ts";
import type { WebhookRequest } from "../../ports/webhook-sender.ts";
import { checkWebhookUrl } from "../../domain/webhook-url.ts";

/**
 * The parts of the webhook sender that do not depend on undici: the URL check, the one
 * deadline, the capped body read and the mapping of thrown errors onto `SendErrorKind`.
 */

export interface BodyLimits {
  /** Bytes read at most; a longer body is cut off and its connection dropped. */
  readonly maxResponseBytes: number;
  /** Bytes kept as `bodySnippet`. */
  readonly snippetBytes: number;
}

export function resolveBodyLimits(options: Partial<BodyLimits>): BodyLimits {
  // Reading up to 64 KiB lets a typical small answer finish, so its connection stays reusable.
  const maxResponseBytes = options.maxResponseBytes ?? 64 * 1024;
  const snippetBytes = Math.min(options.snippetBytes ?? 4 * 1024, maxResponseBytes);
  return { maxResponseBytes, snippetBytes };
}

/** The receiver's answer, as one exchange reports it. */
export interface ReceivedResponse {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly location: string | null;
  readonly bodySnippet: Uint8Array;
  readonly bodyTruncated: boolean;
}

/** A validated request about to go out: headers already include `accept-encoding: identity`. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  readonly timeoutMs: number;
}

/** One HTTP exchange, sender-specific. Must stop all work when `signal` aborts. */
export type Exchange = (request: OutgoingRequest, signal: AbortSignal) => Promise<ReceivedResponse>;

/**
 * Validates the URL (no network activity when it is invalid), runs the exchange under one
 * deadline and turns every outcome into a `SendResult`. The exchange is raced against the
 * deadline: undici only notices an abort once a queued or connecting request is written to a
 * socket (measured: a 500 ms signal on a request queued behind a busy connection fired after
 * 3 s), so waiting for it alone could overrun the deadline.
 */
export async function sendWithDeadline(request: WebhookRequest, exchange: Exchange): Promise<SendResult> {
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  const checked = checkWebhookUrl(request.url);
  if (!checked.ok) {
    return { kind: "error", error: "invalid_url", message: checked.reason, durationMs: elapsed() };
  }
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`no complete response within ${request.timeoutMs} ms`, "TimeoutError"));
  }, request.timeoutMs);
  const outgoing: OutgoingRequest = {
    url: new URL(checked.url),
    headers: withIdentityEncoding(request.headers),
    body: request.body,
    timeoutMs: request.timeoutMs,
  };
  try {
    const response = await raceAbort(exchange(outgoing, controller.signal), controller.signal);
    return { kind: "response", ...response, durationMs: elapsed() };
  } catch (err) {
    const described = describeSendError(err, controller.signal.aborted);
    return { kind: "error", ...described, durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}

/** Asks the receiver not to compress: the snippet is stored as raw bytes, and nothing is inflated. */
export function withIdentityEncoding(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== "accept-encoding") result[name] = value;
  }
  result["accept-encoding"] = "identity";
  return result;
}

/**
 * Reads a body up to `maxResponseBytes`, keeping the first `snippetBytes`. Stopping early ends
 * the iteration, which destroys a Node stream or cancels a web stream reader.
 */
export async function readCappedBody(
  chunks: AsyncIterable<Uint8Array>,
  limits: BodyLimits,
): Promise<{ bodySnippet: Uint8Array; bodyTruncated: boolean }> {
  const snippet = new Uint8Array(limits.snippetBytes);
  let kept = 0;
  let total = 0;
  let stoppedEarly = false;
  for await (const chunk of chunks) {
    if (kept < snippet.length) {
      const part = chunk.subarray(0, snippet.length - kept);
      snippet.set(part, kept);
      kept += part.length;
    }
    total += chunk.length;
    if (total >= limits.maxResponseBytes) {
      stoppedEarly = true;
      break;
    }
  }
  return { bodySnippet: snippet.slice(0, kept), bodyTruncated: stoppedEarly || total > kept };
}

/** Resolves or rejects with `work`, or rejects with the abort reason as soon as `signal` aborts. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

const kindByCode: Readonly<Record<string, SendErrorKind>> = {
  // The destination guard's own errors (destination-guard.ts).
  ERR_BLOCKED_DESTINATION: "blocked_destination",
  ERR_DESTINATION_LOOKUP: "dns_failure",
  ECONNREFUSED: "connection_refused",
  ECONNRESET: "connection_reset",
  EPIPE: "connection_reset",
  UND_ERR_SOCKET: "connection_reset",
  UND_ERR_CLOSED: "connection_reset",
  ENOTFOUND: "dns_failure",
  EAI_AGAIN: "dns_failure",
  EAI_NONAME: "dns_failure",
  EAI_FAIL: "dns_failure",
  UND_ERR_CONNECT_TIMEOUT: "timeout",
  UND_ERR_HEADERS_TIMEOUT: "timeout",
  UND_ERR_BODY_TIMEOUT: "timeout",
  ETIMEDOUT: "timeout",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "tls_error",
  DEPTH_ZERO_SELF_SIGNED_CERT: "tls_error",
  SELF_SIGNED_CERT_IN_CHAIN: "tls_error",
};

const tlsCodePrefixes = ["ERR_TLS_", "ERR_SSL_", "ERR_OSSL_", "CERT_", "UNABLE_TO_GET_ISSUER_CERT"];

/** Maps a thrown runtime error onto a kind and a short message without headers or the URL. */
export function describeSendError(err: unknown, deadlineExpired: boolean): { error: SendErrorKind; message: string } {
  const chain = errorChain(err);
  const message = shortMessage(chain);
  if (deadlineExpired) return { error: "timeout", message };
  for (const link of chain) {
    const kind = kindOfCode(link.code) ?? (link.name === "TimeoutError" || link.name === "AbortError" ? "timeout" : undefined);
    // The guard's message is the whole story (address and range), and goes to the attempt row as is.
    if (kind === "blocked_destination") return { error: kind, message: link.message };
    if (kind !== undefined) return { error: kind, message };
  }
  return { error: "network_error", message };
}

interface ErrorLink {
  readonly code: string | undefined;
  readonly name: string;
  readonly message: string;
}

/** The error, its `cause`s and an AggregateError's members (Node's happy-eyeballs connect). */
function errorChain(err: unknown): ErrorLink[] {
  const links: ErrorLink[] = [];
  const pending: unknown[] = [err];
  while (pending.length > 0 && links.length < 8) {
    const current = pending.shift();
    if (typeof current !== "object" || current === null) {
      if (current !== undefined) links.push({ code: undefined, name: "", message: String(current) });
      continue;
    }
    const record = current as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    links.push({
      code: typeof record.code === "string" ? record.code : undefined,
      name: typeof record.name === "string" ? record.name : "",
      message: typeof record.message === "string" ? record.message : "",
    });
    if (record.cause !== undefined) pending.push(record.cause);
    if (Array.isArray(record.errors)) pending.push(...record.errors);
  }
  return links;
}

function kindOfCode(code: string | undefined): SendErrorKind | undefined {
  if (code === undefined) return undefined;
  return kindByCode[code] ?? (tlsCodePrefixes.some((prefix) => code.startsWith(prefix)) ? "tls_error" : undefined);
}

/**
 * Node's and undici's messages name host and port, never the path; a URL is cut out all the same,
 * since its query may carry a token. Under Deno too, undici's errors carry Node's codes (checked:
 * refused, reset, self-signed certificate), so messages are never needed to classify.
 */
function shortMessage(chain: readonly ErrorLink[]): string {
  const parts: string[] = [];
  for (const link of chain) {
    const text = link.message.split("\n")[0] ?? "";
    const labelled = link.code !== undefined && !text.includes(link.code) ? `${link.code}: ${text}` : text;
    if (labelled !== "" && !parts.some((part) => part.includes(labelled))) parts.push(labelled);
  }
  const joined = parts.join(": ").replace(/\bhttps?:\/\/[^\s)]*/gi, "<url>");
  return (joined === "" ? "unknown network error" : joined).slice(0, 300);
}
