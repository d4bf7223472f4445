import type { Delivery, DeliveryAttempt } from "../../domain/delivery.ts";
import type { Job } from "../../domain/job.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { StoredDeadLetter } from "../../ports/dead-letters.ts";
import type { OutboxEntry } from "../../ports/outbox.ts";
import type { OperatorAction } from "../../ports/delivery-store.ts";
import type { Replay } from "../../ports/replays.ts";

/** A delivery row with the lease and carried-job columns the port does not expose. */
export interface StoredDelivery extends Delivery {
  readonly leaseToken: string | null;
  readonly lockedUntil: Date | null;
  /** The secret of a carried job, revealed (plain data, so the tables clone), or null; undefined when the job is read from `jobs`. */
  readonly carriedSecret?: string | null;
}

export interface StoredOutboxEntry extends OutboxEntry {
  readonly createdAt: Date;
  readonly processedAt: Date | null;
}

/** A replay with the progress columns the port does not expose. */
export interface StoredReplay extends Replay {
  readonly upperId: string | null;
  readonly lastId: string | null;
}

/** Everything a transaction may change; cloned before one starts, restored when it throws. */
export interface MemoryTables {
  deliveries: Map<string, StoredDelivery>;
  attempts: Map<string, DeliveryAttempt[]>;
  outbox: StoredOutboxEntry[];
  deadLetters: StoredDeadLetter[];
  operatorActions: OperatorAction[];
  replays: Map<string, StoredReplay>;
  lastOutboxId: number;
  lastDeadLetterId: number;
}

/** The fake's database: transactional tables plus the jobs table, which tests fill directly. */
export interface MemoryState {
  tables: MemoryTables;
  readonly jobs: Map<string, Job>;
  readonly newUuid: () => string;
}

export function emptyTables(): MemoryTables {
  return { deliveries: new Map(), attempts: new Map(), outbox: [], deadLetters: [], operatorActions: [], replays: new Map(), lastOutboxId: 0, lastDeadLetterId: 0 };
}

// Rows hold only plain data (strings, numbers, Dates, Uint8Arrays), so structuredClone copies them whole.
export function cloneTables(tables: MemoryTables): MemoryTables {
  return structuredClone(tables);
}

/** An error shaped like postgres.js's, so callers that branch on SQLSTATE codes behave the same. */
export function sqlStateError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: "PostgresError", code });
}

/** Postgres stores a uuid and prints it back lowercase; malformed input fails with 22P02. */
export function canonicalUuid(value: string): string {
  if (!isUuid(value)) throw sqlStateError("22P02", `invalid input syntax for type uuid: "${value}"`);
  return value.toLowerCase();
}

export function copyBytes(bytes: Uint8Array): Uint8Array;
export function copyBytes(bytes: Uint8Array | null): Uint8Array | null;
export function copyBytes(bytes: Uint8Array | null): Uint8Array | null {
  return bytes === null ? null : new Uint8Array(bytes);
}
