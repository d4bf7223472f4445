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
    process.once("SIGINT", () => handler("SIGINT"));
    process.once("SIGTERM", () => handler("SIGTERM"));
  },
  env: () => process.env,
  exit: (code) => process.exit(code),
};
