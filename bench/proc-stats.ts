/** CPU time and memory of any process on this machine, from /proc (Linux). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let clockTicksPerSecond = 0;

/** /proc/<pid>/stat counts CPU in clock ticks, `getconf CLK_TCK` per second (usually 100). */
function clockTicks(): number {
  if (clockTicksPerSecond === 0) {
    try {
      clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** utime + stime of any process of this machine, µs. */
export function cpuMicrosOf(pid: number): number {
  const fields = statFields(pid);
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (man 5 proc).
  return ticksToMicros(Number(fields[11]) + Number(fields[12]));
}

/**
 * cutime + cstime: CPU of the children `pid` has waited for, µs. Redis's AOF rewrites and RDB
 * saves run in forked children, which its own utime + stime leave out.
 */
export function reapedChildrenCpuMicrosOf(pid: number): number {
  const fields = statFields(pid);
  // cutime is field 16, cstime 17.
  return ticksToMicros(Number(fields[13]) + Number(fields[14]));
}

/** The fields of /proc/<pid>/stat after "(comm) ", field 3 (state) first. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function ticksToMicros(ticks: number): number {
  return (ticks * 1_000_000) / clockTicks();
}

/** A `kB` field of /proc/<pid>/status (`VmRSS` now, `VmHWM` the peak), or 0 when absent. */
export function statusKilobytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

/** Busy share of all CPUs over `ms`, from /proc/stat (0 = idle, 1 = every core busy). */
export async function machineBusyShare(ms: number): Promise<number> {
  const read = () => {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((sum, n) => sum + n, 0) };
  };
  const before = read();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = read();
  const total = after.total - before.total;
  return total === 0 ? 0 : 1 - (after.idle - before.idle) / total;
}

/**
 * Waits until the machine is quiet (under `maxBusy` over 2 s windows), at most `timeoutMs`:
 * a broker JVM that has just started compiles for a while, and a scenario measured meanwhile
 * (S0 runs first) would count that against the HTTP ceiling. Returns the last busy share.
 */
export async function waitForQuietMachine(maxBusy = 0.1, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let busy = await machineBusyShare(2_000);
  while (busy > maxBusy && Date.now() < deadline) busy = await machineBusyShare(2_000);
  return busy;
}
