import { readdir, readFile } from "node:fs/promises";
import type postgres from "postgres";

export interface ApplyMigrationsOptions {
  /** Directory of `NNN_name.sql` files; defaults to the repository's `migrations/`. */
  readonly directory?: string | URL;
}

interface MigrationFile {
  readonly version: number;
  readonly name: string;
  readonly fileName: string;
}

// Resolved against this module, not the working directory, so it holds from any cwd and under Deno.
const DEFAULT_DIRECTORY = new URL("../../../migrations/", import.meta.url);
const FILE_PATTERN = /^(\d+)_([A-Za-z0-9_-]+)\.sql$/;
// Any fixed bigint will do, as long as nothing else in the database uses it for an advisory lock.
const MIGRATION_LOCK_ID = "7270231860213450001";

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in version order, all in one
 * transaction under an advisory transaction lock: a second process waits for the first to
 * commit and then finds nothing to do. Returns the versions this call applied.
 */
export async function applyMigrations(sql: postgres.Sql, options: ApplyMigrationsOptions = {}): Promise<number[]> {
  const directory = options.directory ?? DEFAULT_DIRECTORY;
  const files = await listMigrationFiles(directory);
  const texts = await Promise.all(files.map((file) => readFile(joinPath(directory, file.fileName), "utf8")));

  const applied: unknown = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_ID}::bigint)`;
    await tx`
      create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`;
    const recorded = await tx<{ version: number }[]>`select version from schema_migrations`;
    const done = new Set(recorded.map((row) => row.version));
    const versions: number[] = [];
    for (const [index, file] of files.entries()) {
      if (done.has(file.version)) continue;
      // Without parameters postgres.js uses the simple protocol, which runs multi-statement files.
      await tx.unsafe(texts[index] ?? "");
      await tx`insert into schema_migrations (version, name) values (${file.version}, ${file.name})`;
      versions.push(file.version);
    }
    return versions;
  });
  return applied as number[];
}

async function listMigrationFiles(directory: string | URL): Promise<MigrationFile[]> {
  const files: MigrationFile[] = [];
  for (const fileName of await readdir(directory)) {
    const match = FILE_PATTERN.exec(fileName);
    if (match === null) continue;
    files.push({ version: Number(match[1]), name: match[2] ?? "", fileName });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i]?.version === files[i - 1]?.version) {
      throw new Error(`two migrations share version ${files[i]?.version}: ${files[i - 1]?.fileName}, ${files[i]?.fileName}`);
    }
  }
  return files;
}

function joinPath(directory: string | URL, fileName: string): string | URL {
  if (directory instanceof URL) return new URL(fileName, directory.href.endsWith("/") ? directory : `${directory.href}/`);
  return directory.endsWith("/") ? directory + fileName : `${directory}/${fileName}`;
}
