/** CPU time and memory of any process on this machine, from /proc (Linux). */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let clockTicksPerSecond = 0;

/** /proc/<pid>/stat counts CPU in clock ticks, `getconf CLK_TCK` per second (usually 100). */
function clockTicks(): number {
  clockTicksPerSecond ||= Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  return clockTicksPerSecond;
}

/** utime + stime of any process of this machine, µs. */
export function cpuMicrosOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime 14, stime 15 (man 5 proc).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / clockTicks();
}

export function statusKilobytes(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}
