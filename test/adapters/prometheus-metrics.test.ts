import { describe, expect, it } from "vitest";
import { createPrometheusMetrics, type GaugeSources } from "../../src/adapters/metrics/prometheus-metrics.ts";
import type { StoredBacklog } from "../../src/ports/backlog.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { parseMetrics, promtoolMetricsProblems } from "../support/metrics-text.ts";

const NOW = Date.parse("2030-01-01T00:10:00.000Z");
const EMPTY: StoredBacklog = { due: 0, pending: 0, oldestDueAt: null, outboxUnprocessed: 0, oldestOutboxAt: null };

function sourcesWith(overrides: Partial<GaugeSources> = {}): GaugeSources {
  return { backlog: async () => EMPTY, attemptsInFlight: () => 0, waitingForDestination: () => 0, now: () => NOW, ...overrides };
}

async function scrape(metrics: ReturnType<typeof createPrometheusMetrics>) {
  const { contentType, body } = await metrics.scrape();
  expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  return { body, parsed: parseMetrics(body) };
}

describe("Prometheus metrics", () => {
  it("counts attempts, deliveries, dead letters and pruned rows with exactly the labels reported", async () => {
    const metrics = createPrometheusMetrics({ logger: noopLogger });
    metrics.observe(sourcesWith());
    metrics.attemptRecorded({ outcome: "retry", statusClass: "5xx", durationSeconds: 0.02 });
    metrics.attemptRecorded({ outcome: "sent", statusClass: "2xx", durationSeconds: 0.003 });
    metrics.deliveryEnded({ outcome: "sent" }, { attempts: 2, latencySeconds: 31 });
    metrics.attemptRecorded({ outcome: "failed", statusClass: "4xx", durationSeconds: 0.2 });
    metrics.deliveryEnded({ outcome: "failed", reason: "http_4xx" }, { attempts: 1, latencySeconds: 0.25 });
    metrics.deliveryEnded({ outcome: "failed", reason: "rejected" });
    metrics.deadLettered("kafka", "invalid_json", 2);
    metrics.rowsPruned("outbox", 1000);
    const { parsed } = await scrape(metrics);

    expect(parsed.value("webhook_attempts_total", { outcome: "retry", status_class: "5xx" })).toBe(1);
    expect(parsed.value("webhook_attempts_total", { outcome: "sent", status_class: "2xx" })).toBe(1);
    expect(parsed.value("webhook_attempts_total", { outcome: "failed", status_class: "4xx" })).toBe(1);
    expect(parsed.value("webhook_attempts_total", { outcome: "retry", status_class: "none" })).toBe(0);
    expect(parsed.histogram("webhook_attempt_duration_seconds")).toMatchObject({ count: 3, buckets: { "0.005": 1, "0.025": 2, "0.25": 3 } });
    expect(parsed.value("webhook_deliveries_total", { outcome: "sent" })).toBe(1);
    expect(parsed.value("webhook_deliveries_total", { outcome: "failed", reason: "http_4xx" })).toBe(1);
    expect(parsed.value("webhook_deliveries_total", { outcome: "failed", reason: "rejected" })).toBe(1);
    expect(parsed.value("webhook_deliveries_total", { outcome: "failed", reason: "timeout" })).toBe(0);
    // Only deliveries sent have a latency; a delivery failed at intake made no attempts to count.
    expect(parsed.histogram("webhook_delivery_latency_seconds")).toMatchObject({ count: 1, sum: 31, buckets: { "30": 0, "60": 1 } });
    expect(parsed.histogram("webhook_attempts_per_delivery", { outcome: "sent" })).toMatchObject({ count: 1, sum: 2, buckets: { "1": 0, "2": 1 } });
    expect(parsed.histogram("webhook_attempts_per_delivery", { outcome: "failed" })).toMatchObject({ count: 1, sum: 1 });
    expect(parsed.value("webhook_dead_letters_total", { source: "kafka", reason: "invalid_json" })).toBe(2);
    expect(parsed.value("webhook_rows_pruned_total", { table: "outbox" })).toBe(1000);
    expect(parsed.value("webhook_rows_pruned_total", { table: "deliveries" })).toBe(0);
  });

  it("reads the gauges at scrape time: the backlog, its ages, the attempts in flight, the deliveries waiting and the Kafka lag per partition", async () => {
    const metrics = createPrometheusMetrics({ logger: noopLogger });
    let backlog: StoredBacklog = { due: 7, pending: 12, oldestDueAt: new Date(NOW - 90_000), outboxUnprocessed: 3, oldestOutboxAt: new Date(NOW - 4_500) };
    let lag = [{ topic: "t", partition: 0, lag: 5 }, { topic: "t", partition: 1, lag: 0 }];
    metrics.observe(sourcesWith({ backlog: async () => backlog, attemptsInFlight: () => 4, waitingForDestination: () => 2, kafkaLag: async () => lag }));
    let { parsed } = await scrape(metrics);
    expect(parsed.value("webhook_deliveries_due")).toBe(7);
    expect(parsed.value("webhook_deliveries_pending")).toBe(12);
    expect(parsed.value("webhook_oldest_due_delivery_age_seconds")).toBe(90);
    expect(parsed.value("webhook_outbox_unprocessed")).toBe(3);
    expect(parsed.value("webhook_outbox_oldest_unprocessed_age_seconds")).toBe(4.5);
    expect(parsed.value("webhook_attempts_in_flight")).toBe(4);
    expect(parsed.value("webhook_deliveries_waiting_for_destination")).toBe(2);
    expect(parsed.value("webhook_kafka_consumer_lag", { topic: "t", partition: "0" })).toBe(5);
    expect(parsed.value("webhook_kafka_consumer_lag", { topic: "t", partition: "1" })).toBe(0);

    backlog = EMPTY;
    lag = [{ topic: "t", partition: 0, lag: 0 }, { topic: "t", partition: 1, lag: 0 }];
    ({ parsed } = await scrape(metrics));
    expect(parsed.value("webhook_deliveries_due")).toBe(0);
    expect(parsed.value("webhook_oldest_due_delivery_age_seconds")).toBe(0);
    expect(parsed.value("webhook_kafka_consumer_lag", { topic: "t", partition: "0" })).toBe(0);
  });

  it("shows NaN for the database gauges it cannot read and leaves out the Kafka lag, rather than show a stale value, and counts and logs the failure", async () => {
    const lines: string[] = [];
    const logger = { ...noopLogger, warn: (message: string) => void lines.push(message), child: () => logger };
    const metrics = createPrometheusMetrics({ logger });
    let reachable = true;
    metrics.observe(sourcesWith({
      backlog: async () => (reachable ? { ...EMPTY, due: 3 } : Promise.reject(new Error("connection refused"))),
      kafkaLag: async () => (reachable ? [{ topic: "t", partition: 0, lag: 2 }] : Promise.reject(new Error("broker down"))),
    }));
    expect((await scrape(metrics)).parsed.value("webhook_deliveries_due")).toBe(3);
    reachable = false;
    const { parsed } = await scrape(metrics);
    expect(parsed.value("webhook_deliveries_due")).toBeNaN();
    expect(parsed.value("webhook_oldest_due_delivery_age_seconds")).toBeNaN();
    expect(parsed.has("webhook_kafka_consumer_lag")).toBe(false);
    expect(parsed.value("webhook_attempts_in_flight")).toBe(0);
    expect(parsed.value("webhook_metrics_read_errors_total", { source: "database" })).toBe(1);
    expect(parsed.value("webhook_metrics_read_errors_total", { source: "kafka" })).toBe(1);
    expect(lines.length).toBeGreaterThan(0);
  });

  it("without /proc (Deno), leaves out the process metrics read from it and takes the resident memory from the runtime", async () => {
    const metrics = createPrometheusMetrics({ logger: noopLogger, procfs: false });
    const { parsed } = await scrape(metrics);
    expect(parsed.value("process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    for (const name of ["process_virtual_memory_bytes", "process_heap_bytes", "process_open_fds", "process_max_fds"]) expect(parsed.has(name), name).toBe(false);
    expect(parsed.has("process_cpu_seconds_total")).toBe(true);
  });

  it("writes a scrape that Prometheus's own promtool accepts, with the default process metrics", async () => {
    const metrics = createPrometheusMetrics({ logger: noopLogger });
    metrics.observe(sourcesWith({ kafkaLag: async () => [{ topic: "t", partition: 0, lag: 1 }] }));
    metrics.attemptRecorded({ outcome: "sent", statusClass: "2xx", durationSeconds: 0.01 });
    const { body, parsed } = await scrape(metrics);
    expect(parsed.has("process_cpu_seconds_total")).toBe(true);
    expect(parsed.has("nodejs_heap_size_used_bytes")).toBe(true);
    expect(parsed.types.get("webhook_deliveries_total")).toBe("counter");
    expect(promtoolMetricsProblems(body)).toEqual([]);
  });
});
