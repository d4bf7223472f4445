/**
 * Starts the dispatcher (`node --import tsx src/main.ts`) as its own process and reads its CPU
 * time and memory from /proc. tsx is only a loader here, so the spawned pid is the dispatcher
 * itself; `start` checks that (its command line names src/main.ts and it has no child processes).
 */
import { readFileSync, readdirSync } from "node:fs";
import { cpuMicrosOf, statusKilobytes } from "./proc-stats.ts";
import { sleep, trackChild, within } from "./scope.ts";
import { freePort } from "../scripts/free-port.ts";
import { exitOf, loopbackReceiversEnv, onOutputLines, spawnDispatcher } from "../scripts/spawn-dispatcher.ts";

export interface DispatcherProcess {
  readonly pid: number;
  /** The admin API's port. */
  readonly port: number;
  /** performance.now() when spawned, and when /healthz first answered (ready to deliver). */
  readonly spawnedAt: number;
  readonly readyAt: number;
  /** utime + stime of the process so far, µs. */
  cpuMicros(): number;
  /** VmHWM: the most resident memory the process has had, bytes. */
  peakRssBytes(): number;
  /** VmRSS now, bytes. */
  rssBytes(): number;
  /** Warning and error log lines seen so far, and the shutdown line (the last 20), for failure messages and the results. */
  logTail(): readonly string[];
  /** Null while the process runs; then its exit code or the signal that ended it (`SIGABRT`: V8 ran out of heap). */
  exitStatus(): string | null;
  stop(): Promise<void>;
}

/**
 * The dispatcher's LOG_LEVEL in every benchmark run: BENCH_LOG_LEVEL, or warn, which avoids a log
 * line per delivery; info measures what that line costs.
 */
export function benchLogLevel(): string {
  return process.env.BENCH_LOG_LEVEL ?? "warn";
}

/**
 * The settings every benchmark run shares; `env` adds or overrides. The receivers are on loopback
 * (which the destination guard denies by default); LOG_LEVEL is `benchLogLevel()` unless `env`
 * sets it (s1ainfo and s2info run at info whatever the run's level).
 */
export function dispatcherEnv(env: Record<string, string>): Record<string, string> {
  return {
    ...loopbackReceiversEnv,
    LOG_LEVEL: benchLogLevel(),
    DISPATCH_CONCURRENCY: "64",
    ...env,
  };
}

export async function startDispatcher(env: Record<string, string>, readyTimeoutMs = 60_000): Promise<DispatcherProcess> {
  // The start-up line is logged at info, which LOG_LEVEL=warn hides: readiness is the first
  // answer of /healthz on a port chosen here (the server starts just before the dispatcher loop).
  const port = await freePort();
  const spawnedAt = performance.now();
  // BENCH_CPU_PROF_DIR=dir writes a V8 CPU profile of each dispatcher process there (on exit).
  const profile = process.env.BENCH_CPU_PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`] : [];
  const child = spawnDispatcher({
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, HTTP_PORT: String(port) },
    nodeFlags: profile,
  });
  trackChild(child);
  const pid = child.pid!;
  const tail: string[] = [];
  onOutputLines(child, (line) => {
    // Info lines too when they name a signal: the shutdown line says what stopped the process.
    if (line.trim() === "" || (/"level":"(debug|info)"/.test(line) && !line.includes('"signal":'))) return;
    tail.push(line.slice(0, 500));
    if (tail.length > 20) tail.shift();
  });
  let exitStatus: string | null = null;
  const exited = exitOf(child).then((status) => {
    exitStatus = String(status);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    // Graceful shutdown waits for attempts in flight; a benchmark has nothing left to wait for.
    await within(3_000, exited, "dispatcher SIGTERM").catch(async () => {
      child.kill("SIGKILL");
      await exited;
    });
  };

  let readyAt: number;
  try {
    await within(readyTimeoutMs, waitForHealthz(port, exited), "dispatcher start-up");
    readyAt = performance.now();
    checkIsDispatcher(pid);
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${tail.join("\n")}`);
  }
  return {
    pid,
    port,
    spawnedAt,
    readyAt,
    cpuMicros: () => cpuMicrosOf(pid),
    peakRssBytes: () => statusKilobytes(pid, "VmHWM") * 1024,
    rssBytes: () => statusKilobytes(pid, "VmRSS") * 1024,
    logTail: () => [...tail],
    exitStatus: () => exitStatus,
    stop,
  };
}

async function waitForHealthz(port: number, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error("dispatcher exited during start-up");
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(10);
  }
}

function checkIsDispatcher(pid: number): void {
  const commandLine = commandLineOf(pid);
  // tsx may start esbuild's transform service as a child when its cache misses (a changed
  // source file): that only compiles. A child node process would mean the work happens elsewhere.
  const children = readdirSync(`/proc/${pid}/task`)
    .flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(" "))
    .filter((child) => child !== "")
    .map(commandLineOf)
    .filter((line) => !line.includes("/esbuild "));
  if (!commandLine.includes("src/main.ts") || children.length > 0) {
    throw new Error(`pid ${pid} is not the dispatcher itself (command line "${commandLine}", children: ${children.join("; ")})`);
  }
}

function commandLineOf(pid: number | string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return ""; // exited meanwhile
  }
}
