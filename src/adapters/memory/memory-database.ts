import type { Job } from "../../domain/job.ts";
import type { Database } from "../../ports/database.ts";
import { asDataRefusal } from "../data-refusal.ts";
import type { Repositories } from "../../ports/transactor.ts";
import { makeMemoryRepositories } from "./memory-repositories.ts";
import { cloneTables, emptyTables, type MemoryState } from "./memory-state.ts";

/** The in-memory Database, plus the platform's side of it: tests put jobs in and take them out. */
export interface MemoryDatabase extends Database {
  /** Inserts or replaces a row of the jobs table (the platform writes it, never the dispatcher). */
  putJob(job: Job): void;
  deleteJob(id: string): void;
}

export interface MemoryDatabaseOptions {
  /** Lease tokens; defaults to `crypto.randomUUID`. */
  readonly newUuid?: () => string;
}

/**
 * A Database held in memory, for app tests. It passes the same contract suite as Postgres and
 * PGlite. Every operation, and every transaction as a whole, runs alone (one at a time, like
 * the embedded database's single connection): a transaction works on the live tables and, if it
 * throws, they are put back as they were when it began.
 *
 * As with the embedded database, calling the outer `db` from inside `transaction` waits for the
 * transaction to end, i.e. forever: inside a transaction, use the `tx` repositories.
 */
export function createMemoryDatabase(options: MemoryDatabaseOptions = {}): MemoryDatabase {
  const state: MemoryState = {
    tables: emptyTables(),
    jobs: new Map(),
    newUuid: options.newUuid ?? (() => crypto.randomUUID()),
  };
  const repositories = makeMemoryRepositories(state);
  const exclusive = makeMutex();
  let closed = false;

  const whileOpen = <T>(run: () => Promise<T>): Promise<T> =>
    exclusive(() => {
      if (closed) throw new Error("the memory database is closed");
      return run();
    });

  // Each repository method of the outer `db` takes its turn like one statement.
  const serialised = mapRepositories(repositories, whileOpen);

  return {
    ...serialised,
    transaction: (work) =>
      whileOpen(async () => {
        const before = cloneTables(state.tables);
        try {
          return await work(repositories);
        } catch (error) {
          state.tables = before;
          throw asDataRefusal(error) ?? error;
        }
      }),
    ping: () => whileOpen(async () => {}),
    close: async () => {
      closed = true;
    },
    putJob(job) {
      state.jobs.set(job.id.toLowerCase(), job);
    },
    deleteJob(id) {
      state.jobs.delete(id.toLowerCase());
    },
  };
}

type Exclusive = <T>(run: () => Promise<T>) => Promise<T>;

function makeMutex(): Exclusive {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(run: () => Promise<T>): Promise<T> => {
    const result = tail.then(run);
    tail = result.catch(() => {});
    return result;
  };
}

function mapRepositories(repositories: Repositories, exclusive: Exclusive): Repositories {
  return {
    jobs: wrapMethods(repositories.jobs, exclusive),
    deliveries: wrapMethods(repositories.deliveries, exclusive),
    deadLetters: wrapMethods(repositories.deadLetters, exclusive),
    outbox: wrapMethods(repositories.outbox, exclusive),
    replays: wrapMethods(repositories.replays, exclusive),
    retention: wrapMethods(repositories.retention, exclusive),
    backlog: wrapMethods(repositories.backlog, exclusive),
  };
}

function wrapMethods<R extends object>(repository: R, exclusive: Exclusive): R {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(repository)) {
    wrapped[name] = (...args: unknown[]) => exclusive(() => (method as (...a: unknown[]) => Promise<unknown>)(...args));
  }
  return wrapped as R;
}
