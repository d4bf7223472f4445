import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";

const LOCK_FILE = "dispatcher.lock";
const ATTEMPTS = 3;

/**
 * Takes `dataDir/dispatcher.lock` for this process, so that two processes never open one
 * embedded database. The lock file holds the owner's pid; a lock whose pid is no longer running
 * is stale and taken over. Resolves to the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = join(dataDir, LOCK_FILE);
  const owner = `${process.pid} ${crypto.randomUUID()}\n`;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (await createExclusively(lockPath, owner)) return () => release(lockPath, owner);
    const holder = await readFile(lockPath, "utf8").catch(() => null);
    if (holder === null) continue; // released meanwhile: try again
    const pid = Number.parseInt(holder, 10);
    if (Number.isInteger(pid) && pid > 0 && isRunning(pid)) {
      throw new Error(
        `the embedded database in ${dataDir} is in use by process ${pid} (lock file ${lockPath}); ` +
          `stop that process, or use another DATA_DIR, or set DATABASE_URL. ` +
          `If no such dispatcher is running, delete the lock file.`,
      );
    }
    // Stale: its owner died without releasing it.
    await unlink(lockPath).catch(() => {});
  }
  throw new Error(`could not take the lock file ${lockPath} after ${ATTEMPTS} attempts`);
}

/**
 * Writes the owner to a private file and hard-links it into place: the link either fails
 * (the lock exists) or creates the lock with its content already complete, so no reader ever
 * sees an empty lock file.
 */
async function createExclusively(lockPath: string, owner: string): Promise<boolean> {
  const draft = `${lockPath}.${process.pid}.${crypto.randomUUID()}`;
  await writeFile(draft, owner, { flag: "wx" });
  try {
    await link(draft, lockPath);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(draft).catch(() => {});
  }
}

async function release(lockPath: string, owner: string): Promise<void> {
  const holder = await readFile(lockPath, "utf8").catch(() => null);
  if (holder === owner) await unlink(lockPath).catch(() => {});
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as { code?: string }).code === "EPERM";
  }
}
