/**
 * A baseline's queue worker in a process of its own (B1 graphile-worker, B2 BullMQ), so the
 * parent reads that process's CPU time and peak RSS from /proc without counting its own work,
 * and the drain timed from "start" to the queue empty.
 *
 * Protocol over the IPC channel (the children are bench/graphile/worker-process.ts and
 * bench/bullmq/worker-process.ts):
 *   argv[2] = the child's JSON config
 *   child → parent {type:"ready"}      modules loaded, clients built; the queue not started yet
 *   parent → child "start"              the worker starts now (the parent starts its clock first)
 *   child → parent {type:"succeeded"}  `events` jobs have succeeded
 *   child → parent {type:"failed", count, message}  (each failed attempt, for the report)
 *   child → parent {type:"error", message}          (a fatal error; the child exits)
 *   parent → child "stop"               the worker's graceful stop, then exit 0
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cpuMicrosOf, statusKilobytes } from "./proc-stats.ts";
import { trackChild } from "./scope.ts";

export interface WorkerChild {
  readonly pid: number;
  /** Resolves once the child has sent a message of `type`; rejects when it exits or fails first. */
  next(type: string): Promise<void>;
  /** Tells the child to start its worker. */
  start(): void;
  readonly failures: { count: number; first: string | null };
  /** Asks for a graceful stop; SIGKILL after 30 s. */
  stop(): Promise<void>;
}

export interface TimedDrain {
  /** From "start" sent to the queue holding none of the jobs, ms. */
  readonly drainMs: number;
  /** The worker process's CPU (user + system) over the drain, µs. */
  readonly cpuMicros: number;
  readonly peakRssBytes: number;
}

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
// The child runs the TypeScript worker through tsx's loader inside the node process itself, so
// the pid we read /proc of is the worker (not an npx or tsx wrapper).
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
// How often the end of the drain is checked once every job has reported success.
const END_POLL_MS = 5;
// A drain in which no job leaves the queue for this long is reported as stuck, not waited for.
const STALL_MS = 120_000;

/**
 * Starts `file` with `config`, with only PATH, HOME and `env` in its environment (like the
 * harness's dispatcher: no stray DATABASE_URL or queue variables). Its stdout (info lines) goes
 * to /dev/null; stderr (warnings, errors) is passed on.
 */
export function spawnWorkerChild(options: { label: string; file: string; config: object; env?: Record<string, string> }): WorkerChild {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, options.file, JSON.stringify(options.config)], {
    cwd: REPO_ROOT,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...options.env },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.label}: the worker process did not start`);
  trackChild(child);
  return { pid, ...watch(child, options.label), start: () => child.send("start"), stop: () => stopChild(child) };
}

/**
 * Sends "start" and waits until the child reports every job succeeded and `remaining()` (the
 * jobs still in the queue, completion batches included) is 0; guarded against a stalled queue.
 */
export async function timeDrain(child: WorkerChild, label: string, remaining: () => Promise<number>): Promise<TimedDrain> {
  await child.next("ready");
  const cpuBefore = cpuMicrosOf(child.pid);
  const startedAt = performance.now();
  child.start();

  const drained = new AbortController();
  const guard = stallGuard(label, remaining, child.failures, drained.signal);
  try {
    await Promise.race([child.next("succeeded"), guard]);
    while ((await remaining()) > 0) await sleep(END_POLL_MS);
  } finally {
    drained.abort();
    await guard.catch(() => {});
  }
  const drainMs = performance.now() - startedAt;
  const cpuMicros = cpuMicrosOf(child.pid) - cpuBefore;
  const peakRssBytes = statusKilobytes(child.pid, "VmHWM") * 1024;
  if (child.failures.count > 0) {
    console.warn(`${label}: ${child.failures.count} attempts failed and were retried (first: ${child.failures.first})`);
  }
  return { drainMs, cpuMicros, peakRssBytes };
}

/** Waits for the child's messages by type; rejects every waiter when the child exits early or fails. */
function watch(child: ChildProcess, label: string): Pick<WorkerChild, "next" | "failures"> {
  const seen = new Set<string>();
  const waiters = new Map<string, { resolve: () => void; reject: (error: Error) => void }>();
  const failures = { count: 0, first: null as string | null };
  let exitError: Error | null = null;
  child.on("message", (raw) => {
    const message = raw as { type: string; count?: number; message?: string };
    if (message.type === "failed") {
      failures.count = message.count ?? failures.count + 1;
      failures.first ??= message.message ?? null;
    } else if (message.type === "error") {
      exitError = new Error(`${label} worker failed: ${message.message}`);
    }
    seen.add(message.type);
    waiters.get(message.type)?.resolve();
  });
  child.on("exit", (code, signal) => {
    exitError ??= new Error(`${label} worker exited early (code ${code}, signal ${signal})`);
    for (const waiter of waiters.values()) waiter.reject(exitError);
  });
  return {
    failures,
    next: (type) =>
      new Promise<void>((resolve, reject) => {
        if (seen.has(type)) return resolve();
        if (exitError !== null) return reject(exitError);
        waiters.set(type, { resolve, reject });
      }),
  };
}

/**
 * Rejects when no job has left the queue for STALL_MS (e.g. a receiver that never says 2xx);
 * returns quietly once `signal` aborts. One count per 5 s: negligible load.
 */
async function stallGuard(label: string, remaining: () => Promise<number>, failures: WorkerChild["failures"], signal: AbortSignal): Promise<void> {
  let last = -1;
  let lastChange = performance.now();
  while (!signal.aborted) {
    try {
      await sleep(5_000, undefined, { signal });
    } catch {
      return; // aborted: the drain finished
    }
    const left = await remaining();
    if (left !== last) [last, lastChange] = [left, performance.now()];
    if (performance.now() - lastChange > STALL_MS) {
      throw new Error(`${label}: ${left} jobs stuck for ${STALL_MS / 1000} s; ${failures.count} failed attempts, first: ${failures.first}`);
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.send("stop");
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}
