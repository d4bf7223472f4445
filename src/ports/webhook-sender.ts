import type { SendResult } from "../domain/send-result.ts";

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** One deadline covering connect, response headers and body, in ms. */
  readonly timeoutMs: number;
}

/**
 * Sends one webhook POST. Never throws for a network or receiver failure: those are
 * `SendResult` values. Never follows redirects. Reads the response body only up to a cap.
 */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<SendResult>;
  /** Closes pooled connections, aborting any request still in flight (shutdown gave its lease back). */
  close(): Promise<void>;
}
