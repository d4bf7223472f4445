export interface HttpServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The few pieces that differ between Node and Deno; `main.ts` picks one and passes it in.
 * Sending does not differ: both use the undici sender (`../http/undici-sender.ts`).
 */
export interface Runtime {
  readonly name: "node" | "deno";
  serve(options: { fetch: (request: Request) => Response | Promise<Response>; port: number; hostname: string }): Promise<HttpServer>;
  /**
   * Calls `handler` on every SIGINT and SIGTERM, not only the first: under `npm start` a signal to
   * the process group arrives twice (from the group, and forwarded by npm), and a second one must
   * not end the process with the default action while it gives its leases back.
   */
  onShutdownSignal(handler: (signal: string) => void): void;
  /**
   * From now on, a line written to stdout or stderr after their reader has gone (a closed pipe
   * or terminal) is lost instead of ending the process, so shutdown still gives its leases back.
   */
  ignoreLostOutput(): void;
  env(): Readonly<Record<string, string | undefined>>;
  exit(code: number): never;
}
