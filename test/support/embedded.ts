import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory for an embedded database; `remove` deletes it and its files. */
export async function createTempDataDir(): Promise<{ dataDir: string; remove(): Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), "dispatcher-pglite-"));
  return { dataDir, remove: () => rm(dataDir, { recursive: true, force: true }) };
}
