import { execFile } from "node:child_process";
import { promisify } from "node:util";

export interface GroupMember {
  readonly pid: number;
  /** The command line, as `ps` shows it. */
  readonly command: string;
}

const run = promisify(execFile);

/**
 * The processes of process group `pgid` that are still running, from `ps` (on Linux and macOS
 * alike). Zombies are left out: they have ended, only their parent has not collected them yet.
 */
export async function processesInGroup(pgid: number): Promise<GroupMember[]> {
  const { stdout } = await run("ps", ["-A", "-o", "pid=,pgid=,stat=,args="]);
  const members: GroupMember[] = [];
  for (const line of stdout.split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (match === null || Number(match[2]) !== pgid || match[3]!.startsWith("Z")) continue;
    members.push({ pid: Number(match[1]), command: match[4]! });
  }
  return members;
}

/** Sends `signal` to every process of group `pgid`; a group with no process left is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}
