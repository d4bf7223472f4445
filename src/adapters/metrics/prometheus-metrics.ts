import { memoryUsage } from "node:process";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { StoredBacklog } from "../../ports/backlog.ts";
import type { Logger } from "../../ports/logger.ts";
import type { DeliveryEnd, Metrics, PartitionLag, PrunedTable } from "../../ports/metrics.ts";
import { errorText } from "../../shared/error-text.ts";

/** What the gauges read at scrape time. */
export interface GaugeSources {
  /** The backlog in the database; the caller bounds how often it is really read. */
  readonly backlog: () => Promise<StoredBacklog>;
  /** Attempts in flight in this process. */
  readonly attemptsInFlight: () => number;
  /** Claimed deliveries waiting in this process for a slot of their destination. */
  readonly waitingForDestination: () => number;
  /** The Kafka consumer group's lag per partition, when Kafka is an input. */
  readonly kafkaLag?: () => Promise<readonly PartitionLag[]>;
  /** Milliseconds since the epoch, for the ages. */
  readonly now: () => number;
}

export interface PrometheusMetrics extends Metrics {
  /** Adds the gauges, read from `sources` at each scrape. Call once. */
  observe(sources: GaugeSources): void;
  /** The exposition of every metric, in the Prometheus text format. */
  scrape(): Promise<{ readonly contentType: string; readonly body: string }>;
}

/** From a quick answer to the default 30 s timeout. */
const ATTEMPT_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** From a first-attempt delivery to retries over a day (the default schedule ends after about 8.5 h). */
const LATENCY_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 10800, 43200, 86400];
const ATTEMPT_COUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 50, 100];

const FAILURE_REASONS = ["http_4xx", "http_5xx", "http_other", "timeout", "network", "not_sent", "rejected", "cancelled"] as const;
/** The attempt series made at zero: the usual ones. The rare ones (a 1xx answer, a 3xx that ends a delivery) appear when they happen. */
const LIKELY_ATTEMPTS = { sent: ["2xx"], retry: ["3xx", "4xx", "5xx", "none"], failed: ["4xx", "5xx", "none"] } as const;

/**
 * The Metrics port over prom-client, with its own registry (no global state) and Node's default
 * process metrics. Counters are created with their known label values at zero, so that a rate
 * over a series that has not moved yet is 0 rather than absent.
 */
export function createPrometheusMetrics(options: { readonly logger: Logger; readonly procfs?: boolean }): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (options.procfs === false) withoutProcfs(registry);
  const registers = [registry];
  const deliveries = new Counter({ name: "webhook_deliveries_total", help: "Deliveries that reached a final state: sent, or failed with the reason class of the failure.", labelNames: ["outcome", "reason"], registers });
  const attempts = new Counter({ name: "webhook_attempts_total", help: "Attempts recorded, by what they led to (sent, retry, failed) and the class of the receiver's status (none: no answer).", labelNames: ["outcome", "status_class"], registers });
  const attemptSeconds = new Histogram({ name: "webhook_attempt_duration_seconds", help: "Time of one attempt's exchange with the receiver.", buckets: ATTEMPT_SECONDS, registers });
  const latency = new Histogram({ name: "webhook_delivery_latency_seconds", help: "Time from an event's acceptance to its delivery's final attempt, for deliveries sent.", buckets: LATENCY_SECONDS, registers });
  const attemptsPerDelivery = new Histogram({ name: "webhook_attempts_per_delivery", help: "Attempts a delivery made in all, counted when it reached its final state by an attempt.", buckets: ATTEMPT_COUNTS, labelNames: ["outcome"], registers });
  const deadLetters = new Counter({ name: "webhook_dead_letters_total", help: "Events dead-lettered, by input and the code of the reason.", labelNames: ["source", "reason"], registers });
  const pruned = new Counter({ name: "webhook_rows_pruned_total", help: "Rows deleted by retention.", labelNames: ["table"], registers });
  const readErrors = new Counter({ name: "webhook_metrics_read_errors_total", help: "Scrapes whose gauges could not be read (database or Kafka unreachable): the database's read NaN, Kafka's were left out.", labelNames: ["source"], registers });
  initialiseCounters({ deliveries, attempts, pruned, readErrors });
  const parts: GaugeParts = { registry, readErrors, logger: options.logger };
  let readGauges = async () => {};
  return {
    attemptRecorded({ outcome, statusClass, durationSeconds }) {
      attempts.inc({ outcome, status_class: statusClass });
      attemptSeconds.observe(durationSeconds);
    },
    deliveryEnded(end: DeliveryEnd, made) {
      deliveries.inc(end.outcome === "sent" ? { outcome: "sent" } : { outcome: "failed", reason: end.reason });
      if (made === undefined) return;
      attemptsPerDelivery.observe({ outcome: end.outcome }, made.attempts);
      if (end.outcome === "sent") latency.observe(made.latencySeconds);
    },
    deadLettered(source, reasonCode, count) {
      deadLetters.inc({ source, reason: reasonCode }, count);
    },
    rowsPruned(table: PrunedTable, count) {
      pruned.inc({ table }, count);
    },
    observe(sources) {
      readGauges = addGauges(parts, sources);
    },
    async scrape() {
      await readGauges();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** prom-client's process metrics read from /proc/self. */
const PROCFS_METRICS = ["process_resident_memory_bytes", "process_virtual_memory_bytes", "process_heap_bytes", "process_open_fds", "process_max_fds"];

/**
 * Where /proc/self cannot be read (Deno allows it only with --allow-all), prom-client's metrics
 * from it would read 0. They are removed rather than shown wrong, and the resident memory comes
 * from the runtime instead.
 */
function withoutProcfs(registry: Registry): void {
  for (const name of PROCFS_METRICS) registry.removeSingleMetric(name);
  new Gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes.", registers: [registry], collect() { this.set(memoryUsage().rss); } });
}

function initialiseCounters(counters: { deliveries: Counter; attempts: Counter; pruned: Counter; readErrors: Counter }): void {
  counters.deliveries.inc({ outcome: "sent" }, 0);
  for (const reason of FAILURE_REASONS) counters.deliveries.inc({ outcome: "failed", reason }, 0);
  for (const [outcome, statusClasses] of Object.entries(LIKELY_ATTEMPTS)) {
    for (const statusClass of statusClasses) counters.attempts.inc({ outcome, status_class: statusClass }, 0);
  }
  for (const table of ["deliveries", "outbox", "dead_letters"]) counters.pruned.inc({ table }, 0);
  for (const source of ["database", "kafka"]) counters.readErrors.inc({ source }, 0);
}

interface GaugeParts {
  readonly registry: Registry;
  readonly readErrors: Counter;
  readonly logger: Logger;
}

/** What one scrape read for the gauges; null where the read failed. */
interface Readings {
  backlog: StoredBacklog | null;
  lag: readonly PartitionLag[] | null;
}

/**
 * The gauges, and the reads they need before each scrape: one backlog read (the database) and
 * one lag read (Kafka), together. A gauge whose read failed shows NaN in that scrape (never a
 * stale value), the Kafka lag is left out, and the failure is counted and logged.
 */
function addGauges({ registry, readErrors, logger }: GaugeParts, sources: GaugeSources): () => Promise<void> {
  const registers = [registry];
  const readings: Readings = { backlog: null, lag: null };
  const failedRead = (source: "database" | "kafka", error: unknown): null => {
    readErrors.inc({ source });
    logger.warn("a metric could not be read for this scrape", { source, error: errorText(error) });
    return null;
  };
  const fromBacklog = (name: string, help: string, valueOf: (backlog: StoredBacklog) => number) =>
    new Gauge({ name, help, registers, collect() { this.set(readings.backlog === null ? Number.NaN : valueOf(readings.backlog)); } });
  const ageSeconds = (at: Date | null) => (at === null ? 0 : Math.max(0, sources.now() - at.getTime()) / 1000);
  fromBacklog("webhook_deliveries_due", "Pending deliveries due now, waiting for a free slot.", (b) => b.due);
  fromBacklog("webhook_deliveries_pending", "Pending deliveries in all: due, in flight, and waiting for a retry.", (b) => b.pending);
  fromBacklog("webhook_oldest_due_delivery_age_seconds", "How long the delivery due longest has been due; 0 when none is.", (b) => ageSeconds(b.oldestDueAt));
  fromBacklog("webhook_outbox_unprocessed", "Outbox rows not yet turned into deliveries.", (b) => b.outboxUnprocessed);
  fromBacklog("webhook_outbox_oldest_unprocessed_age_seconds", "Age of the oldest unprocessed outbox row; 0 when there is none.", (b) => ageSeconds(b.oldestOutboxAt));
  new Gauge({ name: "webhook_attempts_in_flight", help: "Attempts in flight in this process.", registers, collect() { this.set(sources.attemptsInFlight()); } });
  new Gauge({ name: "webhook_deliveries_waiting_for_destination", help: "Claimed deliveries waiting in this process for a slot of their destination (WEBHOOK_MAX_PER_DESTINATION).", registers, collect() { this.set(sources.waitingForDestination()); } });
  const { kafkaLag } = sources;
  if (kafkaLag !== undefined) {
    new Gauge({
      name: "webhook_kafka_consumer_lag",
      help: "Messages of a partition not yet committed by the consumer group.",
      labelNames: ["topic", "partition"],
      registers,
      collect() {
        this.reset();
        for (const { topic, partition, lag } of readings.lag ?? []) this.set({ topic, partition: String(partition) }, lag);
      },
    });
  }
  return async () => {
    [readings.backlog, readings.lag] = await Promise.all([
      sources.backlog().catch((error: unknown) => failedRead("database", error)),
      kafkaLag === undefined ? null : kafkaLag().catch((error: unknown) => failedRead("kafka", error)),
    ]);
  };
}
