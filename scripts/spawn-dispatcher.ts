/**
 * Runs the dispatcher (`src/main.ts`) as a process of its own, for the demo, the tests and the
 * benchmark: the one place that knows its command line on Node and on Deno. On Node, tsx is only
 * a loader inside node (`node --import tsx`), so the spawned pid is the dispatcher itself; under
 * `npm start` it is npm's, and the dispatcher (exec'd by npm's shell) is its child.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository's root directory, with a trailing slash; the dispatcher runs there. */
export const projectRoot = fileURLToPath(new URL("..", import.meta.url));

/**
 * The settings for receivers on loopback: the destination guard denies 127.0.0.0/8 unless it is
 * allowed, and the admin API listens on loopback only.
 */
export const loopbackReceiversEnv: Readonly<Record<string, string>> = {
  HTTP_HOST: "127.0.0.1",
  WEBHOOK_ALLOWED_CIDRS: "127.0.0.0/8",
};

/**
 * V8's heap settings for the dispatcher, the same as `npm start` (package.json) and `deno task
 * start` (deno.json) use. At V8's defaults, old space filled with short-lived garbage (objects
 * promoted while an attempt was in flight) to about four times what survived a full GC, and how
 * far it got before one varied from run to run: peak RSS draining a 200,000-event Kafka backlog
 * was 12 to 65 MiB above draining 10,000. A fixed old-space growth of 50% and semi-spaces of at
 * most 8 MiB bound both (docs/performance.md, "Memory").
 */
export const DISPATCHER_V8_FLAGS: readonly string[] = ["--max-semi-space-size=8", "--heap-growing-percent=50"];

export type DispatcherRuntime = "node" | "deno" | "compiled" | "npm-start";

export interface SpawnDispatcherOptions {
  /** The process's whole environment (nothing is inherited that is not in it). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * `node` runs the TypeScript source through tsx; `npm-start` runs `npm start` (the same, with
   * npm and a shell in front, as from a terminal); `compiled` runs `dist/main.js` (`npm run
   * build`) on plain Node, as in production.
   */
  readonly runtime?: DispatcherRuntime;
  /** Flags for node before the script, e.g. `--cpu-prof` (Node only). */
  readonly nodeFlags?: readonly string[];
  /** stdout and stderr: piped to the parent (default) or shared with it. */
  readonly output?: "pipe" | "inherit";
  /** In a process group of its own, so a signal to the group reaches `deno task`'s child too. */
  readonly detached?: boolean;
}

export function spawnDispatcher(options: SpawnDispatcherOptions): ChildProcess {
  const [executable, ...args] = commandOf(options.runtime ?? "node", options.nodeFlags ?? []);
  const output = options.output ?? "pipe";
  return spawn(executable, args, {
    cwd: projectRoot,
    env: options.env,
    stdio: ["ignore", output, output],
    detached: options.detached ?? false,
  });
}

function commandOf(runtime: DispatcherRuntime, nodeFlags: readonly string[]): [string, ...string[]] {
  switch (runtime) {
    case "deno":
      return [`${projectRoot}node_modules/.bin/deno`, "task", "start"];
    case "npm-start":
      // No look for a newer npm: nothing of the dispatcher's, and it would reach for the registry.
      return ["npm", "start", "--no-update-notifier"];
    case "compiled":
      return [process.execPath, ...DISPATCHER_V8_FLAGS, ...nodeFlags, "dist/main.js"];
    case "node":
      return [process.execPath, ...DISPATCHER_V8_FLAGS, ...nodeFlags, "--import", "tsx", "src/main.ts"];
  }
}

/** Calls `onLine` with every line the process writes to stdout and stderr, as each completes. */
export function onOutputLines(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      parts.forEach(onLine);
    });
    stream?.on("end", () => partial && onLine(partial));
  }
}

/** Resolves with the process's exit code, or the name of the signal that ended it. */
export function exitOf(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
}
