import type { ChildProcess } from "node:child_process";
import {
  exitOf,
  loopbackReceiversEnv,
  onOutputLines,
  spawnDispatcher as spawnMain,
  type DispatcherRuntime,
} from "../../scripts/spawn-dispatcher.ts";
import { waitFor } from "./wait-for.ts";

export { projectRoot } from "../../scripts/spawn-dispatcher.ts";

export interface DispatcherProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly lines: string[];
  /** The admin API's port, from the start-up log line. */
  readonly port: number;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs `src/main.ts` in its own process group (Node via tsx, `npm start`, or Deno) and waits for its start-up line. */
export async function startDispatcherProcess(options: {
  env: Record<string, string>;
  runtime?: DispatcherRuntime;
  timeoutMs?: number;
}): Promise<DispatcherProcess> {
  const child = spawnDispatcher(options.env, options.runtime ?? "node");
  const lines = collectLines(child);
  const exited = exitOf(child);
  let exitedEarly: number | string | null = null;
  void exited.then((code) => (exitedEarly = code));
  const started = await waitFor(
    "the dispatcher's start-up line",
    () => {
      if (exitedEarly !== null) throw new Error(`dispatcher exited with ${exitedEarly}:\n${lines.join("\n")}`);
      return lines.map(parseJson).find((line) => line?.msg === "stories-dispatcher started");
    },
    { timeoutMs: options.timeoutMs ?? 60_000 },
  ).catch((error: Error) => {
    signalGroup(child, "SIGKILL");
    throw new Error(`${error.message}\n${lines.join("\n")}`);
  });
  return {
    child,
    lines,
    port: started.http_port as number,
    exited,
    stop: (signal = "SIGTERM") => {
      signalGroup(child, signal);
      return exited;
    },
  };
}

/** Runs `src/main.ts` to completion (for start-up failures) and returns its exit code and output. */
export async function runDispatcherToExit(env: Record<string, string>): Promise<{ code: number | string; lines: string[] }> {
  const child = spawnDispatcher(env, "node");
  const lines = collectLines(child);
  const code = await exitOf(child);
  return { code, lines };
}

/** A dispatcher process as spawned, before (or without) its start-up line. */
export interface SpawnedDispatcherProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote to stdout and stderr so far. */
  readonly lines: string[];
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs `src/main.ts` on Node without waiting for its start-up line: for what a process does
 * before it has started, such as waiting for its database.
 */
export function spawnDispatcherProcess(env: Record<string, string>): SpawnedDispatcherProcess {
  const child = spawnDispatcher(env, "node");
  const exited = exitOf(child);
  return {
    child,
    lines: collectLines(child),
    exited,
    stop: (signal = "SIGTERM") => {
      signalGroup(child, signal);
      return exited;
    },
  };
}

/** Test receivers listen on loopback; the admin API takes a free port, which the start-up line names. */
const testDefaults = { ...loopbackReceiversEnv, HTTP_PORT: "0" };

function spawnDispatcher(env: Record<string, string>, runtime: DispatcherRuntime): ChildProcess {
  const base: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[name]) base[name] = process.env[name] as string;
  return spawnMain({ env: { ...base, ...testDefaults, ...env }, runtime, detached: true });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function collectLines(child: ChildProcess): string[] {
  const lines: string[] = [];
  onOutputLines(child, (line) => lines.push(line));
  return lines;
}

export function parseJson(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
