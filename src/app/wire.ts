import { maxJobEventBytes } from "../domain/event.ts";
import type { HmacSha256 } from "../domain/signer.ts";
import { spanIdFromUuid } from "../domain/trace-context.ts";
import type { Clock } from "../ports/clock.ts";
import type { Database } from "../ports/database.ts";
import type { ReprocessDeadLetter } from "../ports/dead-letters.ts";
import type { EventSource, IncomingEvent } from "../ports/event-source.ts";
import type { Logger } from "../ports/logger.ts";
import type { StoredBacklog } from "../ports/backlog.ts";
import { type Metrics, noopMetrics } from "../ports/metrics.ts";
import { readAtMostEvery } from "../shared/read-at-most-every.ts";
import type { WebhookSender } from "../ports/webhook-sender.ts";
import type { AcceptResult } from "./accept-events.ts";
import { withBatchedCompletion } from "./batched-completion.ts";
import type { Config } from "./config.ts";
import { deliverOne, type DeliverOneDeps } from "./deliver-one.ts";
import { countingDeadLetters } from "./count-dead-letters.ts";
import { createIntake, type Intake } from "./intake.ts";
import { acceptIsolatingRefusals } from "./isolate-refusals.ts";
import { createOutboxPoller, type OutboxPoller } from "./outbox-poller.ts";
import { createReplayRunner, type ReplayRunner } from "./replay-runner.ts";
import { reprocessDeadLetter } from "./reprocess-dead-letter.ts";
import { createRetention, type Retention } from "./retention.ts";
import { createScheduler, type Scheduler } from "./scheduler.ts";

export interface DispatcherDeps {
  readonly config: Config;
  readonly db: Database;
  readonly sender: WebhookSender;
  readonly hmac: HmacSha256;
  readonly clock: Clock;
  /** Uniform in [0, 1). */
  readonly random: () => number;
  /** A new UUID. */
  readonly newId: () => string;
  readonly logger: Logger;
  /** Counts deliveries, attempts, dead letters and pruned rows; nothing when absent. */
  readonly metrics?: Metrics;
}

/** Makes a batch of incoming events durable in one transaction and wakes the scheduler. */
export type AcceptBatch = (events: readonly IncomingEvent[]) => Promise<AcceptResult>;

export interface Dispatcher {
  readonly acceptBatch: AcceptBatch;
  readonly scheduler: Scheduler;
  readonly outboxPoller: OutboxPoller;
  /** Bulk replays, in batches behind the due deliveries. */
  readonly replayRunner: ReplayRunner;
  /** Deletes finished deliveries, processed outbox rows and dead letters past their retention. */
  readonly retention: Retention;
  /** An operator's reprocessing of one dead letter. */
  readonly reprocessDeadLetter: ReprocessDeadLetter;
  /** Every input: the outbox poller, plus Kafka when configured. */
  readonly sources: readonly EventSource[];
  /** The backlog in the database, for metrics: read at most once every few seconds, however often asked. */
  readonly backlog: () => Promise<StoredBacklog>;
  /** Runs every source and the scheduler until `signal` aborts; resolves once in-flight work is drained. */
  run(signal: AbortSignal): Promise<void>;
}

/**
 * A lease must outlast one attempt (the whole-request deadline) plus the writes around it;
 * a worker that dies holds its deliveries no longer than this.
 */
const LEASE_MARGIN_MS = 30_000;
/** Most completions written in one statement. */
const COMPLETION_BATCH = 256;
/**
 * Bytes of job bodies one intake look-up brings into memory. With the default 1 MiB payload limit
 * a batch of 500 events could otherwise hold 500 MiB; past this the batch is taken in turns.
 * The same budget bounds the carried jobs one outbox claim reads.
 */
const INTAKE_BODY_BUDGET_BYTES = 16 * 1024 * 1024;
/** Most deliveries one replay batch re-drives; and a batch waits while this many are due already. */
const REPLAY_BATCH = 1_000;
/** How often a replay waiting for the due deliveries to drain looks again, ms. */
const REPLAY_WAIT_MS = 200;
/** Pruning: at most 1,000 rows a batch, a batch every 100 ms while there is more, a look a minute otherwise. */
const PRUNE_BATCH = 1_000;
const PRUNE_PAUSE_MS = 100;
const PRUNE_INTERVAL_MS = 60_000;
/**
 * Shortest time between two reads of the backlog, ms. Counting a million pending rows takes about
 * 0.1 s (docs/performance.md); every scrape within this window gets the last read.
 */
const BACKLOG_READ_INTERVAL_MS = 5_000;

/** Composes the use cases from their dependencies. The one place where the app is wired by hand. */
export function wireDispatcher(
  deps: DispatcherDeps,
  options: { readonly inputs?: (acceptBatch: AcceptBatch) => readonly EventSource[] } = {},
): Dispatcher {
  const { config, logger, clock } = deps;
  const metrics = deps.metrics ?? noopMetrics;
  const db = countingDeadLetters(deps.db, metrics);
  const deliverDeps = deliverDepsOf(deps, metrics);
  const leaseMs = config.webhookTimeoutMs + LEASE_MARGIN_MS;
  const scheduler = createScheduler({
    deliveries: db.deliveries,
    deliver: (delivery, freeDestination) => deliverOne(deliverDeps, delivery, freeDestination),
    clock,
    logger: logger.child({ component: "scheduler" }),
    concurrency: config.concurrency,
    perDestinationConcurrency: config.perDestinationConcurrency,
    leaseMs,
    pollIntervalMs: config.pollIntervalMs,
    drainTimeoutMs: config.shutdownTimeoutMs,
  });
  const now = () => clock.now();
  const intakeLogger = logger.child({ component: "intake" });
  const bodyLimits = { maxPayloadBytes: config.maxPayloadBytes, maxTotalBytes: INTAKE_BODY_BUDGET_BYTES };
  // New deliveries that fit in free slots are created leased and start at once, without a
  // claim; the rest wait in the database for the scheduler.
  const accept = { newId: deps.newId, now, logger: intakeLogger, bodyLimits };
  const intake = createIntake({
    transaction: db.transaction,
    accept,
    slots: scheduler,
    leaseMs,
    metrics,
  });
  const outboxPoller = outboxPollerOf(deps, db, intake);
  // Events the database refuses are found and dead-lettered; the rest of their batch goes on.
  const refusalDeps = { transaction: db.transaction, now, logger: intakeLogger };
  const acceptBatch: AcceptBatch = (events) =>
    acceptIsolatingRefusals(refusalDeps, events, (part) => intake({ maxEvents: part.length, take: async () => part }));
  const sources = [outboxPoller, ...(options.inputs?.(acceptBatch) ?? [])];
  const replayRunner = replayRunnerOf(deps, scheduler);
  const retention = retentionOf(deps, metrics);
  return {
    acceptBatch,
    scheduler,
    outboxPoller,
    replayRunner,
    retention,
    reprocessDeadLetter: (id) => reprocessDeadLetter({ transaction: db.transaction, accept, wakeScheduler: () => scheduler.wake() }, id),
    sources,
    backlog: readAtMostEvery(() => db.backlog.readBacklog(clock.now()), { intervalMs: BACKLOG_READ_INTERVAL_MS, now: () => clock.now().getTime() }),
    async run(signal) {
      // Sources stop first so nothing new is claimed from them; the scheduler then drains.
      await Promise.all([...sources.map((source) => source.run(signal)), replayRunner.run(signal), retention.run(signal), scheduler.run(signal)]);
    },
  };
}

/** The outbox input: claims batches of rows through the intake. */
function outboxPollerOf(deps: DispatcherDeps, db: Database, intake: Intake): OutboxPoller {
  const { config } = deps;
  return createOutboxPoller({
    intake,
    transaction: db.transaction,
    now: () => deps.clock.now(),
    logger: deps.logger.child({ component: "outbox" }),
    batchSize: config.outboxBatchSize,
    pollIntervalMs: config.pollIntervalMs,
    ...(db.listenForOutbox === undefined ? {} : { listen: db.listenForOutbox }),
    jobLimits: { maxJobBytes: maxJobEventBytes({ maxPayloadBytes: config.maxPayloadBytes }), maxTotalBytes: INTAKE_BODY_BUDGET_BYTES },
  });
}

/** Bulk replays: batches of 1,000, each only while fewer than 1,000 deliveries are due. */
function replayRunnerOf(deps: DispatcherDeps, scheduler: Scheduler): ReplayRunner {
  return createReplayRunner({
    transaction: deps.db.transaction,
    now: () => deps.clock.now(),
    logger: deps.logger.child({ component: "replay" }),
    wakeScheduler: () => scheduler.wake(),
    batchSize: REPLAY_BATCH,
    maxDue: REPLAY_BATCH,
    pollIntervalMs: deps.config.pollIntervalMs,
    waitIntervalMs: REPLAY_WAIT_MS,
  });
}

/** Pruning of old rows, in batches at a bounded pace. */
function retentionOf(deps: DispatcherDeps, metrics: Metrics): Retention {
  return createRetention({
    transaction: deps.db.transaction,
    now: () => deps.clock.now(),
    logger: deps.logger.child({ component: "retention" }),
    retentionMs: deps.config.retentionMs,
    outboxRetentionMs: deps.config.outboxRetentionMs,
    batchSize: PRUNE_BATCH,
    pauseMs: PRUNE_PAUSE_MS,
    intervalMs: PRUNE_INTERVAL_MS,
    metrics,
  });
}

/** What each attempt needs; completions are written one statement per batch of finished attempts, not one per delivery. */
function deliverDepsOf(deps: DispatcherDeps, metrics: Metrics): DeliverOneDeps {
  return {
    deliveries: withBatchedCompletion(deps.db.deliveries, { maxBatch: COMPLETION_BATCH }),
    sender: deps.sender,
    hmac: deps.hmac,
    clock: deps.clock,
    random: deps.random,
    backoff: deps.config.backoff,
    timeoutMs: deps.config.webhookTimeoutMs,
    logger: deps.logger.child({ component: "delivery" }),
    newSpanId: () => spanIdFromUuid(deps.newId()),
    metrics,
  };
}
