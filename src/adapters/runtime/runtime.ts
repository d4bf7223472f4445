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
  onShutdownSignal(handler: (signal: string) => void): void;
  env(): Readonly<Record<string, string | undefined>>;
  exit(code: number): never;
}
