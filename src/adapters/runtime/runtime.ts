import type { DestinationPolicy } from "../../domain/destination-policy.ts";
import type { WebhookSender } from "../../ports/webhook-sender.ts";

export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

export interface SenderOptions {
  /** Which addresses webhooks may be sent to; enforced on every new connection. */
  readonly policy: DestinationPolicy;
  /** Keep-alive connections per receiver origin (default 16); further requests queue. */
  readonly connectionsPerOrigin?: number;
}

/** The few pieces that differ between Node and Deno; `main.ts` picks one and passes it in. */
export interface Runtime {
  readonly name: "node" | "deno";
  createSender(options: SenderOptions): WebhookSender;
  serve(options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname: string }): Promise<HttpServer>;
  onShutdownSignal(handler: (signal: string) => void): void;
  env(): Readonly<Record<string, string | undefined>>;
  exit(code: number): never;
}
