import { randomUUID } from "node:crypto";
import { uuidV7 } from "../../src/adapters/uuid-v7.ts";
import type { DeliveryAttempt } from "../../src/domain/delivery.ts";
import type { DeadLetter } from "../../src/ports/dead-letters.ts";
import type { Database } from "../../src/ports/database.ts";
import type { NewDelivery } from "../../src/ports/delivery-store.ts";

/** A row of the platform's jobs table, as a test writes it. */
export interface JobSeed {
  readonly id: string;
  readonly status?: string;
  readonly finishedAt?: Date | null;
  readonly outputMarkup?: string | null;
  readonly webhookUrl?: string | null;
  readonly webhookSecret?: string | null;
}

/** One implementation of the Database port under test, with the platform's side of it. */
export interface ContractSubject {
  readonly db: Database;
  /** Writes a row of the jobs table, as the platform would. */
  insertJob(job: JobSeed): Promise<void>;
  deleteJob(id: string): Promise<void>;
  /** Empties every table, between tests. */
  reset(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /**
   * Null where two transactions can be open at once (real Postgres). PGlite (one connection) and
   * the memory fake run transactions one at a time, so a test that holds one transaction open
   * while another runs would wait forever there: for them, which database and why, as
   * "the embedded database: it serves one connection", shown in the name of each test skipped.
   */
  readonly transactionsOneAtATime: string | null;
}

/** Gives the suites the subject of the describe block they run in. */
export interface ContractContext {
  readonly subject: ContractSubject;
  readonly db: Database;
  readonly options: ContractOptions;
}

export const T0 = new Date("2030-01-01T00:00:00.000Z");

export function at(msAfterT0: number): Date {
  return new Date(T0.getTime() + msAfterT0);
}

/** A delivery row to create; its id is a UUIDv7 of its creation time, as the dispatcher makes them. */
export function newDelivery(overrides: Partial<NewDelivery> = {}): NewDelivery {
  const id = uuidV7((overrides.createdAt ?? T0).getTime());
  return {
    id,
    webhookId: `msg_${id.replaceAll("-", "")}`,
    jobId: randomUUID(),
    event: "job.succeeded",
    url: "https://receiver.example/hooks",
    payload: new TextEncoder().encode(`{"job_id":"${id}"}`),
    traceId: `trace-${id.slice(0, 8)}`,
    createdAt: T0,
    rejection: null,
    ...overrides,
  };
}

export function attemptRecord(deliveryId: string, overrides: Partial<DeliveryAttempt> = {}): DeliveryAttempt {
  return {
    deliveryId,
    attemptNumber: 1,
    startedAt: T0,
    durationMs: 42,
    statusCode: 200,
    errorKind: null,
    errorMessage: null,
    responseBody: "ok",
    location: null,
    outcome: "sent",
    ...overrides,
  };
}

/** A dead letter from the API with every optional field empty; `overrides` fill what a case needs. */
export function newDeadLetter(overrides: Partial<DeadLetter>): DeadLetter {
  return {
    source: "api",
    reason: "unknown_job",
    jobId: null,
    event: null,
    traceId: null,
    raw: null,
    topic: null,
    partition: null,
    offset: null,
    lastOffset: null,
    key: null,
    createdAt: T0,
    ...overrides,
  };
}
