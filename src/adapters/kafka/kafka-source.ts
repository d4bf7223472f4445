import { Kafka, logLevel, type Consumer, type EachBatchPayload, type LogEntry } from "kafkajs";
import { errorText } from "../../app/error-text.ts";
import type { EventSource, IncomingEvent, SourceReadiness } from "../../ports/event-source.ts";
import type { Logger } from "../../ports/logger.ts";

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
  /** Milliseconds since the epoch; for readiness. */
  readonly now?: () => number;
}

/** First wait before writing a batch again after a database error, ms; doubles up to the cap. */
const ACCEPT_RETRY_START_MS = 200;
const ACCEPT_RETRY_MAX_MS = 5_000;
/** Wait before a consumer that stopped for good is built and connected again, ms. */
const RECONNECT_DELAY_MS = 2_000;
/**
 * A healthy consumer completes a fetch at least every `maxWaitTimeInMs` (1 s here), even on
 * an idle topic. Longer than this without one means the brokers are out of reach, well before
 * kafkajs's own retries give up and report a crash.
 */
const FETCH_SILENCE_MS = 15_000;

/**
 * The Kafka input (kafkajs, at-least-once). For each fetched batch of one partition: one
 * `acceptBatch` (one transaction), then the offset after its last message is committed. Bad
 * messages become dead letters inside that same batch, so they never stop a partition. While
 * the database is down the batch is retried in place, with heartbeats, and nothing is committed.
 */
export function createKafkaSource(options: KafkaSourceOptions): EventSource {
  const { topic, groupId, logger } = options;
  const now = options.now ?? (() => Date.now());
  let problem: string | null = "not connected yet";
  let lastFetchAt = 0;
  const setReady = () => {
    problem = null;
    lastFetchAt = now();
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
    retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 5 },
  });

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const events: IncomingEvent[] = batch.messages.map((message) => ({
      // A tombstone (null value) is not an event; it is dead-lettered like any other bad value.
      value: message.value === null ? null : new Uint8Array(message.value.buffer, message.value.byteOffset, message.value.byteLength),
      origin: {
        source: "kafka",
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        key: message.key === null ? null : new Uint8Array(message.key),
      },
    }));
    await acceptWithRetry(payload, events);
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    await payload.commitOffsetsIfNecessary({
      topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
    });
    await payload.heartbeat();
    setReady();
  }

  async function acceptWithRetry(payload: EachBatchPayload, events: readonly IncomingEvent[]): Promise<void> {
    for (let waitMs = ACCEPT_RETRY_START_MS; ; waitMs = Math.min(waitMs * 2, ACCEPT_RETRY_MAX_MS)) {
      try {
        await options.acceptBatch(events);
        return;
      } catch (error) {
        // Not committed: if we stop here, the batch is fetched again by whoever owns the partition.
        if (!payload.isRunning() || payload.isStale()) throw error;
        setNotReady(`cannot store consumed events: ${errorText(error)}`);
        logger.error("could not store a consumed batch; retrying, offsets not committed", {
          topic: payload.batch.topic,
          partition: payload.batch.partition,
          first_offset: payload.batch.firstOffset(),
          error: errorText(error),
          retry_in_ms: waitMs,
        });
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        await payload.heartbeat();
      }
    }
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
      logger.error("kafka consumer crashed", { error: event.payload.error.message, restarting: event.payload.restart });
      if (!event.payload.restart) stoppedForGood(event.payload.error.message);
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
    if (why !== "shutdown") logger.warn("kafka consumer stopped; reconnecting", { reason: why });
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
          retry: { initialRetryTime: 300, maxRetryTime: 5_000, retries: 5, restartOnFailure: async () => true },
        });
        try {
          await consumeUntilStopped(consumer, signal);
        } catch (error) {
          setNotReady(errorText(error));
          logger.error("could not start the kafka consumer; retrying", { error: errorText(error), retry_in_ms: RECONNECT_DELAY_MS });
        }
        // Stops fetching, lets the batch in flight finish (and commit), and leaves the group.
        await consumer.disconnect().catch((error: unknown) => logger.warn("kafka disconnect failed", { error: errorText(error) }));
        if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      }
      setNotReady("stopped");
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
