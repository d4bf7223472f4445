import type { Job } from "../../domain/job.ts";
import type { DeadLetter, DeadLetterStore, StoredDeadLetter } from "../../ports/dead-letters.ts";
import type { BodyLimits, JobReader } from "../../ports/job-reader.ts";
import type { Outbox, OutboxEntry, OutboxJobLimits } from "../../ports/outbox.ts";
import type { Repositories } from "../../ports/transactor.ts";
import { makeMemoryDeliveryStore } from "./memory-delivery-store.ts";
import { makeMemoryReplayStore } from "./memory-replay-store.ts";
import { makeMemoryRetentionStore } from "./memory-retention-store.ts";
import { readMemoryBacklog } from "./memory-backlog.ts";
import { isUuid } from "../../domain/uuid.ts";
import { canonicalUuid, copyBytes, type MemoryState, sqlStateError } from "./memory-state.ts";

/** Every repository over the fake's state. Callers serialise access (see memory-database.ts). */
export function makeMemoryRepositories(state: MemoryState): Repositories {
  return {
    jobs: makeMemoryJobReader(state),
    deliveries: makeMemoryDeliveryStore(state),
    deadLetters: makeMemoryDeadLetterStore(state),
    outbox: makeMemoryOutbox(state),
    replays: makeMemoryReplayStore(state),
    retention: makeMemoryRetentionStore(state),
    backlog: { readBacklog: async (now) => readMemoryBacklog(state, now) },
  };
}

function makeMemoryJobReader(state: MemoryState): JobReader {
  return {
    async findJobs(ids: readonly string[], limits?: BodyLimits): Promise<ReadonlyMap<string, Job>> {
      const found = new Map<string, Job>();
      for (const id of ids) {
        if (!isUuid(id)) continue;
        const job = state.jobs.get(id.toLowerCase());
        if (job !== undefined) found.set(id, job);
      }
      return limits === undefined ? found : withinBodyLimits(found, limits);
    },
  };
}

const utf8 = new TextEncoder();
const byteLength = (text: string | null) => (text === null ? 0 : utf8.encode(text).length);

/** The Postgres reader's rule: bodies over the payload limit, or past the budget in id order, are left unread. */
function withinBodyLimits(found: ReadonlyMap<string, Job>, limits: BodyLimits): ReadonlyMap<string, Job> {
  const limited = new Map<string, Job>();
  let readBytes = 0;
  const inIdOrder = [...found].sort(([, a], [, b]) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const [key, job] of inIdOrder) {
    const bytes = byteLength(job.outputMarkup) + byteLength(job.errorCode) + byteLength(job.errorMessage);
    const unread = (reason: "too_large" | "over_budget"): Job => ({
      ...job,
      outputMarkup: null,
      errorCode: null,
      errorMessage: null,
      unreadBody: { reason, bytes },
    });
    if (bytes > limits.maxPayloadBytes) limited.set(key, unread("too_large"));
    else if (readBytes === 0 || readBytes + bytes <= limits.maxTotalBytes) {
      readBytes += bytes;
      limited.set(key, job);
    } else limited.set(key, unread("over_budget"));
  }
  return limited;
}

function makeMemoryOutbox(state: MemoryState): Outbox {
  return {
    async appendEvent({ jobId, event, traceId, job, now }): Promise<string> {
      const tables = state.tables;
      const id = String(tables.lastOutboxId + 1);
      // Stored as jsonb would: a copy of plain JSON, whatever the caller does with its object later.
      const stored = job == null ? {} : { job: JSON.parse(JSON.stringify(job)) as unknown };
      tables.outbox.push({ id, jobId: canonicalUuid(jobId), event, traceId, ...stored, createdAt: now, processedAt: null });
      tables.lastOutboxId += 1;
      return id;
    },

    async claimPendingEvents({ limit, ids, jobLimits, processedAt }): Promise<readonly OutboxEntry[]> {
      // Transactions run one at a time here, so no other transaction can hold these rows: the
      // FOR UPDATE SKIP LOCKED of the real adapter has nothing to skip.
      const claimed = state.tables.outbox
        .filter((row) => row.processedAt === null && (ids === undefined || ids.includes(row.id)))
        .sort((a, b) => Number(a.id) - Number(b.id))
        .slice(0, Math.max(0, limit))
        .map(({ id, jobId, event, traceId, job }) => ({ id, jobId, event, traceId, ...(job === undefined ? {} : { job }) }));
      const taken = jobLimits === undefined ? claimed : withinJobLimits(claimed, jobLimits);
      if (processedAt !== undefined) {
        const ids = new Set(taken.map((row) => row.id));
        state.tables.outbox = state.tables.outbox.map((row) => (ids.has(row.id) ? { ...row, processedAt } : row));
      }
      return taken;
    },

    async markProcessed({ ids, now }): Promise<void> {
      for (const id of ids) {
        if (!/^\d+$/.test(id)) throw sqlStateError("22P02", `invalid input syntax for type bigint: "${id}"`);
      }
      const wanted = new Set(ids.map((id) => String(Number(id))));
      state.tables.outbox = state.tables.outbox.map((row) => (wanted.has(row.id) ? { ...row, processedAt: now } : row));
    },
  };
}

/** The Postgres claim's rule: a job over `maxJobBytes` is left unread, and rows past the budget are left for later. */
function withinJobLimits(claimed: readonly OutboxEntry[], limits: OutboxJobLimits): OutboxEntry[] {
  const taken: OutboxEntry[] = [];
  let readBytes = 0;
  for (const row of claimed) {
    const { job, ...entry } = row;
    const bytes = job === undefined ? 0 : byteLength(JSON.stringify(job));
    if (bytes > limits.maxJobBytes) {
      taken.push({ ...entry, unreadJobBytes: bytes });
      continue;
    }
    if (readBytes > 0 && readBytes + bytes > limits.maxTotalBytes) break;
    readBytes += bytes;
    taken.push(row);
  }
  return taken;
}

function makeMemoryDeadLetterStore(state: MemoryState): DeadLetterStore {
  return {
    async recordDeadLetters(rows: readonly DeadLetter[]): Promise<void> {
      const tables = state.tables;
      for (const row of rows) {
        tables.lastDeadLetterId += 1;
        tables.deadLetters.push(copyDeadLetter({ ...row, id: String(tables.lastDeadLetterId), reprocessedAt: null, deliveryId: null }));
      }
    },

    async listDeadLetters({ limit, filter = {}, beforeId }): Promise<readonly StoredDeadLetter[]> {
      if (beforeId !== undefined && !/^\d{1,18}$/.test(beforeId)) return [];
      const matches = (row: StoredDeadLetter) =>
        (beforeId === undefined || Number(row.id) < Number(beforeId)) &&
        (filter.source === undefined || row.source === filter.source) &&
        (filter.reasonCode === undefined || row.reason.split(":")[0] === filter.reasonCode) &&
        (filter.createdAfter === undefined || row.createdAt >= filter.createdAfter) &&
        (filter.createdBefore === undefined || row.createdAt < filter.createdBefore) &&
        (filter.reprocessed === undefined || (row.reprocessedAt !== null) === filter.reprocessed);
      return state.tables.deadLetters
        .filter(matches)
        .sort((a, b) => Number(b.id) - Number(a.id))
        .slice(0, Math.max(0, limit))
        .map(copyDeadLetter);
    },

    async lockDeadLetter(id): Promise<StoredDeadLetter | null> {
      const row = /^\d{1,18}$/.test(id) ? state.tables.deadLetters.find((letter) => letter.id === String(Number(id))) : undefined;
      return row === undefined ? null : copyDeadLetter(row);
    },

    async markReprocessed({ id, deliveryId, now }): Promise<void> {
      const tables = state.tables;
      tables.deadLetters = tables.deadLetters.map((row) => (row.id === String(Number(id)) ? { ...row, reprocessedAt: now, deliveryId: canonicalUuid(deliveryId) } : row));
    },
  };
}

function copyDeadLetter(row: StoredDeadLetter): StoredDeadLetter {
  return {
    id: row.id,
    source: row.source,
    reason: row.reason,
    jobId: row.jobId,
    event: row.event,
    traceId: row.traceId,
    raw: copyBytes(row.raw),
    topic: row.topic,
    partition: row.partition,
    offset: row.offset,
    lastOffset: row.lastOffset,
    key: copyBytes(row.key),
    createdAt: row.createdAt,
    reprocessedAt: row.reprocessedAt,
    deliveryId: row.deliveryId,
  };
}
