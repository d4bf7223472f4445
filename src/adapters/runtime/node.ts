import { serve } from "@hono/node-server";
import type { HttpServer, Runtime } from "./runtime.ts";

/** Node: node:http (through Hono's adapter) for the API. */
export const nodeRuntime: Runtime = {
  name: "node",
  serve: ({ fetch, port, hostname }) =>
    new Promise<HttpServer>((resolve, reject) => {
      const server = serve({ fetch, port, hostname }, (info) =>
        resolve({
          port: info.port,
          close: () => new Promise<void>((done) => server.close(() => done())),
        }),
      );
      server.once("error", reject);
    }),
  onShutdownSignal: (handler) => {
    process.on("SIGINT", () => handler("SIGINT"));
    process.on("SIGTERM", () => handler("SIGTERM"));
  },
  ignoreLostOutput: () => {
    // Node reports a write to a closed pipe (EPIPE) as an 'error' event after the write returned,
    // which the console does not catch: with no listener the first log line of a shutdown
    // crashed the process (exit 1), its leases still held.
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  },
  env: () => process.env,
  exit: (code) => process.exit(code),
};
