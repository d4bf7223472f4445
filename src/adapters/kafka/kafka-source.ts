import { Kafka, logLevel, type Batch, type Consumer, type EachBatchPayload, type KafkaMessage, type LogEntry } from "kafkajs";
import { errorText } from "../../shared/error-text.ts";
import { abortableDelay, retryWithBackoff } from "../../shared/retry-with-backoff.ts";
import type { EventSource, IncomingEvent, SourceReadiness } from "../../ports/event-source.ts";
import type { Logger } from "../../ports/logger.ts";
import { registerKafkaCodecs, type KafkaDecompressors } from "./codecs.ts";
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
  /**
   * How far reading may run ahead of delivery: before each part is accepted, `count` is asked how
   * many deliveries are due and waiting for a slot (counting up to `max`); at `max` or more the
   * partition waits, heartbeating, until delivery has caught up. A backlog then stays in Kafka,
   * where it costs nothing, rather than being copied at full speed into the deliveries table
   * while the process does both jobs at once. Unpaced without it.
   */
  readonly readAhead?: { readonly max: number; readonly count: (atMost: number) => Promise<number> };
  /** Milliseconds since the epoch; for readiness. */
  readonly now?: () => number;
  /** Retries of one connection or request before the consumer counts as stopped (kafkajs `retries`); 5 by default. */
  readonly requestRetries?: number;
  /** How record batches are decompressed, per codec; the pure-JavaScript decoders by default. */
  readonly decompressors?: KafkaDecompressors;
}

/** First wait before writing a batch again after a database error, ms; doubles up to the cap. */
const ACCEPT_RETRY_START_MS = 200;
const ACCEPT_RETRY_MAX_MS = 5_000;
/**
 * Wait before a consumer that stopped (crashed, or could not connect) is built and connected
 * again, ms: doubles with each stop in a row, up to the cap, so a consumer that keeps crashing
 * costs the brokers and the logs one attempt a minute, not one every two seconds.
 */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 60_000;
/** A consumer that fetched this long after its restart without stopping again is healthy: the next stop starts a new series. */
const HEALTHY_AFTER_MS = 30_000;
/**
 * A healthy consumer completes a fetch at least every `maxWaitTimeInMs` (1 s here), even on
 * an idle topic. Longer than this without one means the brokers are out of reach, well before
 * kafkajs's own retries give up and report a crash.
 */
const FETCH_SILENCE_MS = 15_000;
/** How often a partition paused by the read-ahead looks again whether delivery has caught up, ms. */
const READ_AHEAD_RECHECK_MS = 200;
/** Events per `acceptBatch` call: one intake transaction's worth, like an outbox batch. */
const DEFAULT_MAX_EVENTS_PER_ACCEPT = 500;

/**
 * The Kafka input (kafkajs, at-least-once). A fetched batch of one partition is accepted in
 * parts of at most `maxEventsPerAccept` events, one `acceptBatch` (one transaction) each, and
 * after each part the offset after its last message is committed. Bad messages become dead
 * letters inside that same transaction, and so does a record batch that cannot be decoded, so
 * neither stops a partition. While the database is down a part is retried in place, with
 * heartbeats, and nothing is committed.
 */
export function createKafkaSource(options: KafkaSourceOptions): EventSource {
  registerKafkaCodecs(options.decompressors);
  const { topic, groupId, logger } = options;
  const now = options.now ?? (() => Date.now());
  const maxEventsPerAccept = options.maxEventsPerAccept ?? DEFAULT_MAX_EVENTS_PER_ACCEPT;
  let problem: string | null = "not connected yet";
  let lastFetchAt = 0;
  // Stops in a row (crashes, failed connects), reset once the consumer is healthy again.
  let stopsInARow = 0;
  let lastStartAt = 0;
  const setReady = () => {
    problem = null;
    lastFetchAt = now();
    if (stopsInARow > 0 && now() - lastStartAt >= HEALTHY_AFTER_MS) stopsInARow = 0;
  };
  const setNotReady = (reason: string) => (problem = reason);
  const readiness = (): SourceReadiness => {
    if (problem !== null) return { ready: false, reason: `kafka: ${problem}` };
    const silentMs = now() - lastFetchAt;
    if (silentMs > FETCH_SILENCE_MS) return { ready: false, reason: `kafka: no fetch from the brokers for ${Math.round(silentMs / 1000)} s` };
    return { ready: true };
  };

  const kafka = new Kafka({
    clientId: options.clientId ?? "stories-dispatcher",
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => logKafkaEntry(logger, entry),
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: options.requestRetries ?? 5 },
  });

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    // First offsets of the undecodable record batches already dead-lettered: one can span parts.
    const lost = new Set<string>();
    for (let start = 0; start < batch.messages.length; start += maxEventsPerAccept) {
      // After a rebalance the partition may be someone else's: what is not committed is fetched again there.
      if (!payload.isRunning() || payload.isStale()) return;
      if (!(await waitForDelivery(payload))) return;
      const part = batch.messages.slice(start, start + maxEventsPerAccept);
      await acceptWithRetry(payload, eventsOf(batch, part, lost));
      const isLast = start + maxEventsPerAccept >= batch.messages.length;
      const last = isLast ? batch.lastOffset() : part[part.length - 1]!.offset;
      payload.resolveOffset(last);
      await payload.commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
      await payload.heartbeat();
      // Progress: the consumer is healthy, whatever happened before.
      stopsInARow = 0;
      setReady();
    }
  }

  /**
   * The events of some messages of a batch; an undecodable record batch becomes one event,
   * dead-lettered with its offset range, unless its first offset is already in `seen`.
   */
  function eventsOf(batch: Batch, messages: readonly KafkaMessage[], seen: Set<string>): IncomingEvent[] {
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

  /**
   * Waits while the deliveries waiting for a slot are at the read-ahead limit; false when the
   * partition was lost or the consumer stopped meanwhile. A count that fails (the database is
   * down) does not wait: accepting the part will fail and be retried, and says why.
   */
  async function waitForDelivery(payload: EachBatchPayload): Promise<boolean> {
    const { readAhead } = options;
    if (readAhead === undefined) return true;
    for (;;) {
      const due = await readAhead.count(readAhead.max).catch(() => 0);
      if (due < readAhead.max) return true;
      await abortableDelay(READ_AHEAD_RECHECK_MS);
      if (!payload.isRunning() || payload.isStale()) return false;
      await payload.heartbeat();
      // Waiting for delivery is not a silence of the brokers.
      setReady();
    }
  }

  /** Accepts the events, retrying in place (with heartbeats) while the database fails; nothing is committed meanwhile. */
  function acceptWithRetry(payload: EachBatchPayload, events: readonly IncomingEvent[]): Promise<unknown> {
    return retryWithBackoff(() => options.acceptBatch(events), {
      firstWaitMs: ACCEPT_RETRY_START_MS,
      maxWaitMs: ACCEPT_RETRY_MAX_MS,
      // Not committed: if we stop here, the batch is fetched again by whoever owns the partition.
      onFailure: (error, waitMs) => {
        if (!payload.isRunning() || payload.isStale()) return false;
        setNotReady(`cannot store consumed events: ${errorText(error)}`);
        logger.error("could not store a consumed batch; retrying, offsets not committed", {
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

  async function consumeUntilStopped(consumer: Consumer, signal: AbortSignal): Promise<void> {
    let stoppedForGood: (reason: string) => void = () => {};
    const stopped = new Promise<string>((resolve) => (stoppedForGood = resolve));
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      setReady();
      logger.info("joined the consumer group", { group_id: groupId, member_id: event.payload.memberId, assignment: event.payload.memberAssignment });
    });
    consumer.on(consumer.events.FETCH, setReady);
    consumer.on(consumer.events.CRASH, (event) => {
      setNotReady(`consumer crashed: ${event.payload.error.message}`);
      logger.error("kafka consumer crashed", { error: event.payload.error.message });
      stoppedForGood(event.payload.error.message);
    });
    consumer.on(consumer.events.DISCONNECT, () => {
      if (!signal.aborted) setNotReady("disconnected from the brokers");
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 4,
      eachBatch: handleBatch,
    });
    const aborted = new Promise<string>((resolve) => signal.addEventListener("abort", () => resolve("shutdown"), { once: true }));
    const why = await Promise.race([stopped, aborted]);
    if (why !== "shutdown") throw new Error(why);
  }

  return {
    name: "kafka",
    readiness,
    async run(signal) {
      while (!signal.aborted) {
        const consumer = kafka.consumer({
          groupId,
          sessionTimeout: options.sessionTimeoutMs ?? 30_000,
          heartbeatInterval: 3_000,
          // An idle fetch waits this long for data; it also bounds how long joining the group and
          // shutting down wait (kafkajs's default, 5 s, made each take about 5 s).
          maxWaitTimeInMs: 1_000,
          // kafkajs's defaults (10 MiB, 1 MiB a partition) fetched 121,000 gzip events of a backlog
          // at once, ~80 MB of heap before the first was accepted; 256 KiB keeps it to ~5,000.
          maxBytes: options.fetchMaxBytes ?? 256 * 1024,
          maxBytesPerPartition: Math.ceil((options.fetchMaxBytes ?? 256 * 1024) / (options.partitionsConsumedConcurrently ?? 4)),
          // kafkajs would restart a crashed consumer itself, 300 ms later, however often it
          // crashes; this loop restarts it instead, with a growing wait.
          retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: options.requestRetries ?? 5, restartOnFailure: async () => false },
        });
        lastStartAt = now();
        let stoppedBecause: string | null = null;
        try {
          await consumeUntilStopped(consumer, signal);
        } catch (error) {
          stoppedBecause = errorText(error);
        }
        // Stops fetching, lets the batch in flight finish (and commit), and leaves the group.
        await consumer.disconnect().catch((error: unknown) => logger.warn("kafka disconnect failed", { error: errorText(error) }));
        if (signal.aborted || stoppedBecause === null) break;
        stopsInARow++;
        const waitMs = Math.min(RESTART_FIRST_MS * 2 ** (stopsInARow - 1), RESTART_MAX_MS);
        const times = stopsInARow === 1 ? "once" : `${stopsInARow} times in a row`;
        setNotReady(`consumer stopped ${times}, last because: ${stoppedBecause}; restarting in ${Math.ceil(waitMs / 1000)} s`);
        logger.error("kafka consumer stopped; restarting", { reason: stoppedBecause, stops_in_a_row: stopsInARow, restart_in_ms: waitMs });
        await abortableDelay(waitMs, signal);
      }
      setNotReady("stopped");
    },
  };
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
