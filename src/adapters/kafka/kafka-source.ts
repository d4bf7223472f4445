import { Kafka, logLevel, type Batch, type Consumer, type EachBatchPayload, type KafkaMessage, type LogEntry } from "kafkajs";
import { errorText } from "../../shared/error-text.ts";
import { abortableDelay, retryWithBackoff } from "../../shared/retry-with-backoff.ts";
import type { EventSource, IncomingEvent } from "../../ports/event-source.ts";
import type { Logger } from "../../ports/logger.ts";
import { registerKafkaCodecs, type KafkaDecompressors } from "./codecs.ts";
import { createConsumerHealth, type ConsumerHealth } from "./consumer-health.ts";
import { createOffsetCommits, type OffsetCommits } from "./offset-commits.ts";
import { undecodableBatchOf } from "./undecodable-batches.ts";

export interface KafkaSourceOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly groupId: string;
  readonly clientId?: string;
  /**
   * Makes a fetched batch durable (deliveries and dead letters in one transaction). Offsets are
   * committed only after it resolves; it must not wait on any HTTP request.
   */
  readonly acceptBatch: (events: readonly IncomingEvent[]) => Promise<unknown>;
  readonly logger: Logger;
  /** How long a rebalance waits for a member, ms; also bounds how long a dead member holds partitions. */
  readonly sessionTimeoutMs?: number;
  /** Most partitions handled at once; their batches are written concurrently. */
  readonly partitionsConsumedConcurrently?: number;
  /** Most events handed to `acceptBatch` at once; a larger fetched batch is accepted in parts. */
  readonly maxEventsPerAccept?: number;
  /**
   * Most bytes one fetch brings in over all partitions, as stored on the brokers (compressed),
   * split evenly over `partitionsConsumedConcurrently`: the read-ahead held in memory, decoded,
   * until it is accepted. A record batch larger than this still comes, alone. 256 KiB by default.
   */
  readonly fetchMaxBytes?: number;
  /** Milliseconds since the epoch; for readiness. */
  readonly now?: () => number;
  /** Retries of one connection or request before the consumer counts as stopped (kafkajs `retries`); 5 by default. */
  readonly requestRetries?: number;
  /** How record batches are decompressed, per codec; the pure-JavaScript decoders by default. */
  readonly decompressors?: KafkaDecompressors;
  /** Longest time between an accepted part and the commit of its offset, ms; 1,000 by default. */
  readonly offsetCommitIntervalMs?: number;
}

/** First wait before writing a batch again after a database error, ms; doubles up to the cap. */
const ACCEPT_RETRY_START_MS = 200;
const ACCEPT_RETRY_MAX_MS = 5_000;
/** Events per `acceptBatch` call: one intake transaction's worth, like an outbox batch. */
const DEFAULT_MAX_EVENTS_PER_ACCEPT = 500;
/**
 * Offsets are committed once a second rather than once per accepted part (one OffsetCommit per
 * part was ~100 requests/s at 1,000 events/s). After a crash, at most a second's events are
 * fetched again; their (job_id, event) pairs exist, so they create no second delivery.
 */
const DEFAULT_OFFSET_COMMIT_INTERVAL_MS = 1_000;

/**
 * The Kafka input (kafkajs, at-least-once). A fetched batch of one partition is accepted in
 * parts of at most `maxEventsPerAccept` events, one `acceptBatch` (one transaction) each, and
 * after each part the offset after its last message is resolved, to be committed within
 * `offsetCommitIntervalMs` with the others resolved meanwhile (`offset-commits.ts`). Bad messages become dead
 * letters inside that same transaction, and so does a record batch that cannot be decoded, so
 * neither stops a partition. While the database is down a part is retried in place, with
 * heartbeats, and nothing is committed. A consumer that stops is restarted with a growing wait
 * (`consumer-health.ts`).
 */
export function createKafkaSource(options: KafkaSourceOptions): EventSource {
  registerKafkaCodecs(options.decompressors);
  const health = createConsumerHealth(options.now ?? (() => Date.now()));
  const kafka = new Kafka({
    clientId: options.clientId ?? "stories-dispatcher",
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafkaEntry(options.logger, entry),
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: options.requestRetries ?? 5 },
  });
  const source: Source = { options, health, kafka, maxEventsPerAccept: options.maxEventsPerAccept ?? DEFAULT_MAX_EVENTS_PER_ACCEPT };
  return {
    name: "kafka",
    readiness: () => health.readiness(),
    run: (signal) => runConsumers(source, signal),
  };
}

/** What the steps of the Kafka input share. */
interface Source {
  readonly options: KafkaSourceOptions;
  readonly health: ConsumerHealth;
  readonly kafka: Kafka;
  readonly maxEventsPerAccept: number;
}

/** Runs a consumer until `signal` aborts; one that stops is replaced after the wait `health` says. */
async function runConsumers(source: Source, signal: AbortSignal): Promise<void> {
  const { health, options } = source;
  while (!signal.aborted) {
    const consumer = newConsumer(source);
    const commits = createOffsetCommits({ intervalMs: options.offsetCommitIntervalMs ?? DEFAULT_OFFSET_COMMIT_INTERVAL_MS, logger: options.logger });
    health.started();
    let stoppedBecause: string | null = null;
    try {
      await consumeUntilStopped(source, consumer, commits, signal);
    } catch (error) {
      stoppedBecause = errorText(error);
    }
    await commits.flush().catch((error: unknown) => options.logger.warn("could not commit Kafka offsets before stopping", { error: errorText(error) }));
    // Stops fetching, lets the batch in flight finish (and commit), and leaves the group.
    await consumer.disconnect().catch((error: unknown) => options.logger.warn("kafka disconnect failed", { error: errorText(error) }));
    if (signal.aborted || stoppedBecause === null) break;
    const { waitMs, stopsInARow } = health.stopped(stoppedBecause);
    options.logger.error("kafka consumer stopped; restarting", { reason: stoppedBecause, stops_in_a_row: stopsInARow, restart_in_ms: waitMs });
    await abortableDelay(waitMs, signal);
  }
  health.notReady("stopped");
}

function newConsumer({ kafka, options }: Source): Consumer {
  const fetchMaxBytes = options.fetchMaxBytes ?? 256 * 1024;
  return kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3_000,
    // An idle fetch waits this long for data; it also bounds how long joining the group and
    // shutting down wait (kafkajs's default, 5 s, made each take about 5 s).
    maxWaitTimeInMs: 1_000,
    // kafkajs's defaults (10 MiB, 1 MiB a partition) fetched 121,000 gzip events of a backlog
    // at once, ~80 MB of heap before the first was accepted; 256 KiB keeps it to ~5,000.
    maxBytes: fetchMaxBytes,
    maxBytesPerPartition: Math.ceil(fetchMaxBytes / (options.partitionsConsumedConcurrently ?? 4)),
    // kafkajs would restart a crashed consumer itself, 300 ms later, however often it crashes;
    // `runConsumers` restarts it instead, with a growing wait.
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: options.requestRetries ?? 5, restartOnFailure: async () => false },
  });
}

/** Connects, subscribes and consumes; resolves on shutdown, throws with the reason when the consumer crashes. */
async function consumeUntilStopped(source: Source, consumer: Consumer, commits: OffsetCommits, signal: AbortSignal): Promise<void> {
  const { health, options } = source;
  let stoppedForGood: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stoppedForGood = resolve));
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    health.healthy();
    options.logger.info("joined the consumer group", { group_id: options.groupId, member_id: event.payload.memberId, assignment: event.payload.memberAssignment });
  });
  consumer.on(consumer.events.FETCH, () => health.healthy());
  consumer.on(consumer.events.REBALANCING, () => {
    commits.commitNow().catch((error: unknown) => options.logger.debug("offsets not committed before a rebalance: fetched again", { error: errorText(error) }));
  });
  consumer.on(consumer.events.CRASH, (event) => {
    health.notReady(`consumer crashed: ${event.payload.error.message}`);
    options.logger.error("kafka consumer crashed", { error: event.payload.error.message });
    stoppedForGood(event.payload.error.message);
  });
  consumer.on(consumer.events.DISCONNECT, () => {
    if (!signal.aborted) health.notReady("disconnected from the brokers");
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
    eachBatch: (payload) => handleBatch(source, commits, payload),
  });
  const aborted = new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve("shutdown"), { once: true }));
  const why = await Promise.race([stopped, aborted]);
  if (why !== "shutdown") throw new Error(why);
}

/** Accepts a fetched batch part by part, resolving the offsets of each part once it is durable. */
async function handleBatch(source: Source, commits: OffsetCommits, payload: EachBatchPayload): Promise<void> {
  const { batch } = payload;
  const { maxEventsPerAccept } = source;
  // First offsets of the undecodable record batches already dead-lettered: one can span parts.
  const lost = new Set<string>();
  for (let start = 0; start < batch.messages.length; start += maxEventsPerAccept) {
    // After a rebalance the partition may be someone else's: what is not committed is fetched again there.
    if (!payload.isRunning() || payload.isStale()) return;
    const part = batch.messages.slice(start, start + maxEventsPerAccept);
    await acceptWithRetry(source, payload, eventsOf(source.options.logger, batch, part, lost));
    const isLast = start + maxEventsPerAccept >= batch.messages.length;
    const last = isLast ? batch.lastOffset() : part[part.length - 1]!.offset;
    payload.resolveOffset(last);
    await commits.resolved(payload);
    await payload.heartbeat();
    source.health.progressed();
  }
}

/**
 * The events of some messages of a batch; an undecodable record batch becomes one event,
 * dead-lettered with its offset range, unless its first offset is already in `seen`.
 */
function eventsOf(logger: Logger, batch: Batch, messages: readonly KafkaMessage[], seen: Set<string>): IncomingEvent[] {
  const events: IncomingEvent[] = [];
  for (const message of messages) {
    const lost = undecodableBatchOf(message);
    if (lost === null) {
      events.push(eventOf(batch, message));
      continue;
    }
    if (seen.has(lost.firstOffset)) continue;
    seen.add(lost.firstOffset);
    const where = { topic: batch.topic, partition: batch.partition, first_offset: lost.firstOffset, last_offset: lost.lastOffset };
    logger.error("a record batch could not be decoded: dead-lettered, its offsets skipped", { ...where, reason: lost.reason });
    events.push({
      value: null,
      unreadable: `undecodable_batch: ${lost.reason}`,
      origin: { source: "kafka", topic: batch.topic, partition: batch.partition, offset: lost.firstOffset, lastOffset: lost.lastOffset, key: null },
    });
  }
  return events;
}

/** Accepts the events, retrying in place (with heartbeats) while the database fails; nothing is committed meanwhile. */
function acceptWithRetry({ options, health }: Source, payload: EachBatchPayload, events: readonly IncomingEvent[]): Promise<unknown> {
  return retryWithBackoff(() => options.acceptBatch(events), {
    firstWaitMs: ACCEPT_RETRY_START_MS,
    maxWaitMs: ACCEPT_RETRY_MAX_MS,
    // Not committed: if we stop here, the batch is fetched again by whoever owns the partition.
    onFailure: (error, waitMs) => {
      if (!payload.isRunning() || payload.isStale()) return false;
      health.notReady(`cannot store consumed events: ${errorText(error)}`);
      options.logger.error("could not store a consumed batch; retrying, offsets not committed", {
        topic: payload.batch.topic,
        partition: payload.batch.partition,
        first_offset: payload.batch.firstOffset(),
        error: errorText(error),
        retry_in_ms: waitMs,
      });
      return true;
    },
    wait: async (ms) => {
      await abortableDelay(ms);
      await payload.heartbeat();
    },
  });
}

function eventOf(batch: Batch, message: KafkaMessage): IncomingEvent {
  return {
    // A tombstone (null value) is not an event; it is dead-lettered like any other bad value.
    value: message.value === null ? null : new Uint8Array(message.value.buffer, message.value.byteOffset, message.value.byteLength),
    origin: {
      source: "kafka",
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key === null ? null : new Uint8Array(message.key),
    },
  };
}

function logKafkaEntry(logger: Logger, entry: LogEntry): void {
  const { message, ...fields } = entry.log;
  const line = `kafkajs: ${message}`;
  const context = { namespace: entry.namespace, ...fields };
  if (entry.level === logLevel.ERROR) logger.error(line, context);
  else if (entry.level === logLevel.WARN) logger.warn(line, context);
  else logger.debug(line, context);
}
