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

/** Deno: `Deno.serve` for the API. */
export const denoRuntime: Runtime = {
  name: "deno",
  serve: async ({ fetch, port, hostname }) => {
    const server = deno.serve({ port, hostname, onListen: () => {} }, fetch);
    const http: HttpServer = { port: server.addr.port, close: () => server.shutdown() };
    return http;
  },
  onShutdownSignal: (handler) => {
    deno.addSignalListener("SIGINT", () => handler("SIGINT"));
    deno.addSignalListener("SIGTERM", () => handler("SIGTERM"));
  },
  // Deno's console already drops what it cannot write to a closed pipe and carries on.
  ignoreLostOutput: () => {},
  env: () => deno.env.toObject(),
  exit: (code) => deno.exit(code),
};
