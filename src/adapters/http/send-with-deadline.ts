import type { SendResult } from "../../domain/send-result.ts";
import { checkWebhookUrl } from "../../domain/webhook-url.ts";
import type { WebhookRequest } from "../../ports/webhook-sender.ts";
import { describeSendError } from "./describe-send-error.ts";

/**
 * The one deadline of a send, kept apart from undici: the URL check, the deadline over the whole
 * exchange (connect, headers and body) and the turning of every outcome into a `SendResult`.
 */

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

/** One HTTP exchange with the receiver (the undici sender's). Must stop all work when `signal` aborts. */
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
