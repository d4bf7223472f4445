/**
 * Time bounds and clean-up for the benchmark: every scenario runs inside `withDeadline`, which
 * fails it with a clear message when it overruns and always runs the clean-ups the scenario
 * registered (stop processes, drop databases, delete topics), in reverse order.
 */
import type { ChildProcess } from "node:child_process";

/** Clean-ups registered by one scenario; `close` runs each once, newest first, and never throws. */
export class Scope {
  readonly #cleanups: Array<{ label: string; run: () => Promise<unknown> | unknown }> = [];
  readonly #signal: AbortSignal;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
  }

  /** Aborted when the scenario's deadline passes: long waits take it so they stop early. */
  get signal(): AbortSignal {
    return this.#signal;
  }

  defer(label: string, run: () => Promise<unknown> | unknown): void {
    this.#cleanups.push({ label, run });
  }

  async close(): Promise<void> {
    while (this.#cleanups.length > 0) {
      const cleanup = this.#cleanups.pop()!;
      try {
        // A clean-up that itself hangs must not hang the whole run.
        await within(30_000, Promise.resolve().then(cleanup.run), `clean-up "${cleanup.label}"`);
      } catch (error) {
        console.error(`bench: ${cleanup.label} failed: ${(error as Error).message}`);
      }
    }
  }
}

const openScopes = new Set<Scope>();

/**
 * Runs `body` with a fresh scope. Rejects with `<name>: deadline of N s passed` if it takes
 * longer than `ms`; the scope is closed either way (which also ends what the body still waits on).
 */
export async function withDeadline<T>(name: string, ms: number, body: (scope: Scope) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const scope = new Scope(controller.signal);
  openScopes.add(scope);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`${name}: deadline of ${Math.round(ms / 1000)} s passed`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  const running = body(scope);
  // The body loses the race on a deadline; its later rejection (processes killed under it) is expected.
  running.catch(() => {});
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
    await scope.close();
    openScopes.delete(scope);
  }
}

/** Rejects with `what: no answer within N ms` unless `promise` settles first. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

// Child processes must not outlive the benchmark, whatever way it ends.
const children = new Set<ChildProcess>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Kills tracked children when the benchmark exits, and cleans up open scopes on Ctrl-C. Call once. */
export function installProcessCleanup(): void {
  process.once("exit", () => {
    for (const child of children) child.kill("SIGKILL");
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}: cleaning up`);
      void Promise.allSettled([...openScopes].map((scope) => scope.close())).then(() => process.exit(130));
    });
  }
}
