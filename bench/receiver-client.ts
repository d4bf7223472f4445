/** The parent's side of bench/receiver.ts: starts the process and asks it questions over IPC. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { trackChild, within } from "./scope.ts";

export interface ReceiverStats {
  readonly counts: Readonly<Record<string, { requests: number; unique: number }>>;
  /** Requests whose Standard Webhooks or hex signature did not verify (or whose body was not JSON). */
  readonly signatureFailures: number;
  /** Epoch ms of the first and last /ok request since the last reset (0 when none). */
  readonly firstOkAt: number;
  readonly lastOkAt: number;
  /** CPU of the receiver process since the last reset, µs. */
  readonly cpuMicros: number;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`: the main origin, and a second one (another customer). */
  readonly url: string;
  readonly otherUrl: string;
  /** Every origin the receiver listens on (eight), `url` and `otherUrl` first. */
  readonly origins: readonly string[];
  readonly pid: number;
  reset(): Promise<void>;
  /** Resolves once `count` distinct jobs have reached `path`; rejects after `timeoutMs` or on abort. */
  waitFor(path: string, count: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  stats(): Promise<ReceiverStats>;
  /** job_id → first receipt time (epoch ms) for `path`. */
  receipts(path: string): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const RECEIVER_FILE = fileURLToPath(new URL("./receiver.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

export async function startReceiver(secret: string): Promise<Receiver> {
  const child: ChildProcess = fork(RECEIVER_FILE, [], {
    cwd: REPO_ROOT,
    execArgv: ["--import", "tsx"],
    env: { PATH: process.env.PATH, BENCH_SECRET: secret },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  trackChild(child);
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let started: (ports: number[]) => void = () => {};
  const ready = new Promise<number[]>((resolve) => (started = resolve));
  child.on("message", (message: { id: number; result?: unknown; error?: string }) => {
    if (message.id === 0) return started((message.result as { ports: number[] }).ports);
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.error !== undefined) waiting?.reject(new Error(message.error));
    else waiting?.resolve(message.result);
  });
  child.once("exit", (code, signal) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`receiver exited (${code ?? signal})`));
    pending.clear();
  });

  function ask<T>(request: Record<string, unknown>, timeoutMs = 30_000, signal?: AbortSignal): Promise<T> {
    const id = nextId++;
    const answered = new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
    child.send({ id, ...request });
    return within(timeoutMs, answered, `receiver ${String(request.type)} ${JSON.stringify(request)}`);
  }

  const ports = await within(30_000, ready, "receiver start-up");
  const origins = ports.map((port) => `http://127.0.0.1:${port}`);
  return {
    url: origins[0]!,
    otherUrl: origins[1]!,
    origins,
    pid: child.pid!,
    reset: () => ask<void>({ type: "reset" }),
    waitFor: (path, count, timeoutMs, signal) => ask<void>({ type: "wait", path, count }, timeoutMs, signal),
    stats: () => ask<ReceiverStats>({ type: "stats" }),
    receipts: async (path) => new Map(await ask<Array<[string, number]>>({ type: "receipts", path }, 60_000)),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.disconnect();
      await within(5_000, exited, "receiver exit").catch(() => child.kill("SIGKILL"));
    },
  };
}
