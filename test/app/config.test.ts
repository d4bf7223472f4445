import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/app/config.ts";
import { runDispatcherToExit } from "../support/dispatcher-process.ts";

describe("configuration", () => {
  it("uses the documented defaults when nothing is set", () => {
    const result = parseConfig({});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config).toMatchObject({
      databaseUrl: null,
      dataDir: "./.data",
      kafkaBrokers: [],
      kafkaTopic: "greatstories.webhooks.v1",
      kafkaGroupId: "stories-dispatcher",
      backoff: { maxAttempts: 10, baseDelayMs: 30_000, maxDelayMs: 86_400_000, jitter: 0.1 },
      webhookTimeoutMs: 30_000,
      httpPort: 8080,
      adminToken: null,
      metricsToken: null,
      logLevel: "info",
    });
    expect(Object.isFrozen(result.config)).toBe(true);
    expect(result.config.destinationPolicy).toEqual({ allowPrivateNetworks: false, allowedCidrs: [] });
    expect(result.config.perDestinationConcurrency).toBe(16);
    expect(result.config.maxPayloadBytes).toBe(1024 * 1024);
    expect(result.config.kafkaFetchMaxBytes).toBe(256 * 1024);
    expect(result.config.kafkaBatchSize).toBe(500);
  });

  it("reads WEBHOOK_MAX_PAYLOAD as bytes or with a unit", () => {
    const inBytes = parseConfig({ WEBHOOK_MAX_PAYLOAD: "262144" });
    const withUnit = parseConfig({ WEBHOOK_MAX_PAYLOAD: "512KiB" });
    expect(inBytes.ok && inBytes.config.maxPayloadBytes).toBe(262_144);
    expect(withUnit.ok && withUnit.config.maxPayloadBytes).toBe(524_288);
  });

  it("parses the trusted networks a deployment opens", () => {
    const result = parseConfig({ WEBHOOK_ALLOWED_CIDRS: "10.1.0.0/16, fd00::/8", WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" });
    expect(result.ok && result.config.destinationPolicy.allowPrivateNetworks).toBe(true);
    expect(result.ok && result.config.destinationPolicy.allowedCidrs.map((c) => c.prefixLength)).toEqual([16, 8]);
  });

  it("parses Go-style durations and comma-separated brokers", () => {
    const result = parseConfig({
      WEBHOOK_RETRY_BASE_DELAY: "1m30s",
      WEBHOOK_RETRY_MAX_DELAY: "2h",
      WEBHOOK_TIMEOUT: "250ms",
      KAFKA_BROKERS: "a:9092, b:9093",
    });
    expect(result.ok && result.config.backoff.baseDelayMs).toBe(90_000);
    expect(result.ok && result.config.backoff.maxDelayMs).toBe(7_200_000);
    expect(result.ok && result.config.webhookTimeoutMs).toBe(250);
    expect(result.ok && result.config.kafkaBrokers).toEqual(["a:9092", "b:9093"]);
  });

  const bad: [string, string, RegExp][] = [
    ["DATABASE_URL", "mysql://x", /^DATABASE_URL=\(value hidden\) is invalid: expected a postgres:\/\/ or postgresql:\/\/ URL$/],
    ["KAFKA_BROKERS", "localhost", /^KAFKA_BROKERS="localhost" is invalid: expected comma-separated host:port pairs$/],
    ["WEBHOOK_MAX_RETRIES", "0", /^WEBHOOK_MAX_RETRIES="0" is invalid: expected a whole number of attempts from 1 to 100$/],
    ["WEBHOOK_MAX_RETRIES", "ten", /^WEBHOOK_MAX_RETRIES="ten" is invalid/],
    ["WEBHOOK_RETRY_BASE_DELAY", "30", /^WEBHOOK_RETRY_BASE_DELAY="30" is invalid: expected a positive duration/],
    ["WEBHOOK_RETRY_MAX_DELAY", "-1h", /^WEBHOOK_RETRY_MAX_DELAY="-1h" is invalid: expected a positive duration/],
    ["WEBHOOK_RETRY_JITTER", "1.5", /^WEBHOOK_RETRY_JITTER="1.5" is invalid: expected a fraction from 0 to 1$/],
    ["WEBHOOK_TIMEOUT", "soon", /^WEBHOOK_TIMEOUT="soon" is invalid: expected a positive duration/],
    ["HTTP_PORT", "70000", /^HTTP_PORT="70000" is invalid: expected a TCP port from 0 to 65535$/],
    ["ADMIN_TOKEN", "short", /^ADMIN_TOKEN=\(value hidden\) is invalid: expected at least 16 characters without spaces$/],
    ["LOG_LEVEL", "loud", /^LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error$/],
    ["DISPATCH_CONCURRENCY", "0", /^DISPATCH_CONCURRENCY="0" is invalid/],
    ["POLL_INTERVAL", "1ms", /^POLL_INTERVAL="1ms" is invalid/],
    ["OUTBOX_BATCH_SIZE", "x", /^OUTBOX_BATCH_SIZE="x" is invalid/],
    ["WEBHOOK_MAX_PAYLOAD", "1mb", /^WEBHOOK_MAX_PAYLOAD="1mb" is invalid: expected a size from 1KiB to 256MiB/],
    ["WEBHOOK_MAX_PAYLOAD", "512GiB", /^WEBHOOK_MAX_PAYLOAD="512GiB" is invalid/],
    ["KAFKA_BATCH_SIZE", "0", /^KAFKA_BATCH_SIZE="0" is invalid: expected a whole number from 1 to 10000/],
    ["KAFKA_FETCH_MAX_BYTES", "1KiB", /^KAFKA_FETCH_MAX_BYTES="1KiB" is invalid: expected a size from 16KiB to 64MiB/],
    ["WEBHOOK_ALLOWED_CIDRS", "10.0.0.0/33", /^WEBHOOK_ALLOWED_CIDRS="10.0.0.0\/33" is invalid: expected comma-separated CIDRs/],
    ["WEBHOOK_ALLOWED_CIDRS", "10.0.0.0/8,intranet", /^WEBHOOK_ALLOWED_CIDRS="10.0.0.0\/8,intranet" is invalid/],
    ["WEBHOOK_ALLOW_PRIVATE_NETWORKS", "yes", /^WEBHOOK_ALLOW_PRIVATE_NETWORKS="yes" is invalid: expected true or false$/],
    ["WEBHOOK_MAX_PER_DESTINATION", "0", /^WEBHOOK_MAX_PER_DESTINATION="0" is invalid/],
  ];

  it.each(bad)("rejects %s=%s with one line naming the variable, the value and what is expected", (name, value, line) => {
    const result = parseConfig({ [name]: value });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(line);
  });

  it("rejects a base delay longer than the max delay", () => {
    const result = parseConfig({ WEBHOOK_RETRY_BASE_DELAY: "2h", WEBHOOK_RETRY_MAX_DELAY: "1h" });
    expect(!result.ok && result.errors).toEqual([
      'WEBHOOK_RETRY_BASE_DELAY="2h" is invalid: expected at most WEBHOOK_RETRY_MAX_DELAY (1h)',
    ]);
  });

  it("reports every bad value at once, one line each", () => {
    const result = parseConfig({ WEBHOOK_TIMEOUT: "x", HTTP_PORT: "y", LOG_LEVEL: "z" });
    expect(!result.ok && result.errors.length).toBe(3);
  });

  it("never echoes the admin token, the metrics token or a database URL (which may hold a password) in an error", () => {
    const result = parseConfig({ ADMIN_TOKEN: "s3cr3t", METRICS_TOKEN: "m3tr1cs s3cr3t", DATABASE_URL: "mysql://u:hunter2@h/db" });
    expect(!result.ok && result.errors).toHaveLength(3);
    expect(!result.ok && result.errors.join("\n")).not.toMatch(/s3cr3t|hunter2/);
  });

  it("takes a METRICS_TOKEN of at least 16 characters without spaces", () => {
    const result = parseConfig({ METRICS_TOKEN: "metrics-token-0123456" });
    expect(result.ok && result.config.metricsToken).toBe("metrics-token-0123456");
    expect(parseConfig({ METRICS_TOKEN: "short" }).ok).toBe(false);
  });

  it("stops the process at start-up with exit code 2 and the one-line error on stderr for a bad value", async () => {
    const { code, lines } = await runDispatcherToExit({ WEBHOOK_TIMEOUT: "soon", DATA_DIR: "/nonexistent/never-created" });
    expect(code).toBe(2);
    expect(lines.filter((line) => line.trim() !== "")).toEqual([
      'stories-dispatcher: WEBHOOK_TIMEOUT="soon" is invalid: expected a positive duration such as 10s, 30s',
    ]);
  });
});
