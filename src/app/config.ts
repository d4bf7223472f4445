import type { BackoffPolicy } from "../domain/backoff.ts";
import type { DestinationPolicy } from "../domain/destination-policy.ts";
import { parseCidr, type Cidr } from "../domain/ip-address.ts";
import { parseByteSize } from "../domain/byte-size.ts";
import { parseDuration } from "../domain/duration.ts";
import type { LogLevel } from "../ports/logger.ts";

/** Everything the dispatcher reads from its environment, parsed once and frozen. */
export interface Config {
  /** Postgres URL, or null for the embedded PGlite database under `dataDir`. */
  readonly databaseUrl: string | null;
  readonly dataDir: string;
  /** Kafka bootstrap brokers; empty means Kafka input is off. */
  readonly kafkaBrokers: readonly string[];
  readonly kafkaTopic: string;
  readonly kafkaGroupId: string;
  /** Bytes one Kafka fetch brings in (as stored, compressed): the input's read-ahead. */
  readonly kafkaFetchMaxBytes: number;
  /** Most Kafka events made durable per transaction; a larger fetched batch is taken in parts. */
  readonly kafkaBatchSize: number;
  readonly backoff: BackoffPolicy;
  /** Whole-request deadline, ms. */
  readonly webhookTimeoutMs: number;
  /** Which addresses webhooks may connect to (private networks are closed by default). */
  readonly destinationPolicy: DestinationPolicy;
  /** Most attempts in flight to one destination (URL origin) in this process. */
  readonly perDestinationConcurrency: number;
  readonly httpPort: number;
  readonly httpHost: string;
  /** Bearer token for `/v1/*`; null disables the `/v1` API (every call answers 401). */
  readonly adminToken: string | null;
  /** Bearer token for `/metrics`; null leaves `/metrics` open (METRICS_TOKEN). */
  readonly metricsToken: string | null;
  readonly logLevel: LogLevel;
  /** Most deliveries in flight at once in this process. */
  readonly concurrency: number;
  /** Longest the scheduler and the outbox poller sleep before looking for other processes' work, ms. */
  readonly pollIntervalMs: number;
  /** Most outbox rows turned into deliveries per transaction. */
  readonly outboxBatchSize: number;
  /** Largest webhook body, bytes: a job whose body would be larger fails with `payload_too_large`. */
  readonly maxPayloadBytes: number;
  /** How long shutdown waits for attempts in flight before giving their leases back and aborting them, ms. */
  readonly shutdownTimeoutMs: number;
  /** How long finished deliveries (with their attempts and actions) and dead letters are kept, ms; 0 keeps them. */
  readonly retentionMs: number;
  /** How long processed outbox rows are kept, ms; 0 keeps them. */
  readonly outboxRetentionMs: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

interface Setting<T> {
  readonly fallback: string | null;
  readonly parse: (text: string) => T | undefined;
  readonly expected: string;
}

const durationMs = (min: number) => (text: string) => {
  const ms = parseDuration(text);
  return ms === null || ms < min ? undefined : ms;
};
const integer = (min: number, max: number) => (text: string) =>
  /^\d+$/.test(text) && Number(text) >= min && Number(text) <= max ? Number(text) : undefined;
const fraction = (text: string) => {
  const n = Number(text);
  return text.trim() !== "" && Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
};
const text = (text: string) => (text.trim() === "" ? undefined : text.trim());
const list = (text: string) => {
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return items.length > 0 && items.every((s) => /^[^\s:/]+:\d{1,5}$/.test(s)) ? items : undefined;
};
const cidrs = (text: string) => {
  const parsed = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(parseCidr);
  return parsed.length > 0 && parsed.every((c) => c !== null) ? (parsed as Cidr[]) : undefined;
};
const byteSize = (min: number, max: number) => (text: string) => {
  const bytes = parseByteSize(text);
  return bytes === null || bytes < min || bytes > max ? undefined : bytes;
};
const token = (text: string) => (text.length >= 16 && !/\s/.test(text) ? text : undefined);
const boolean = (text: string) => (text === "true" ? true : text === "false" ? false : undefined);
const postgresUrl = (text: string) => (/^postgres(ql)?:\/\//.test(text.trim()) ? text.trim() : undefined);
const logLevel = (text: string) =>
  ["debug", "info", "warn", "error"].includes(text) ? (text as LogLevel) : undefined;

/** Every variable, its default and its parser: the one table of defaults (README.md, Configuration). */
const settings = {
  DATABASE_URL: { fallback: null, parse: postgresUrl, expected: "a postgres:// or postgresql:// URL" },
  DATA_DIR: { fallback: "./.data", parse: text, expected: "a directory path" },
  KAFKA_BROKERS: { fallback: null, parse: list, expected: "comma-separated host:port pairs" },
  KAFKA_TOPIC_WEBHOOKS: { fallback: "greatstories.webhooks.v1", parse: text, expected: "a topic name" },
  KAFKA_GROUP_ID: { fallback: "stories-dispatcher", parse: text, expected: "a consumer group id" },
  KAFKA_BATCH_SIZE: { fallback: "500", parse: integer(1, 10_000), expected: "a whole number from 1 to 10000" },
  KAFKA_FETCH_MAX_BYTES: { fallback: "256KiB", parse: byteSize(16 * 1024, 64 * 1024 ** 2), expected: "a size from 16KiB to 64MiB such as 256KiB, 1MiB" },
  WEBHOOK_MAX_RETRIES: { fallback: "10", parse: integer(1, 100), expected: "a whole number of attempts from 1 to 100" },
  WEBHOOK_RETRY_BASE_DELAY: { fallback: "30s", parse: durationMs(1), expected: "a positive duration such as 250ms, 30s, 1m30s" },
  WEBHOOK_RETRY_MAX_DELAY: { fallback: "24h", parse: durationMs(1), expected: "a positive duration such as 30s, 1h, 24h" },
  WEBHOOK_RETRY_JITTER: { fallback: "0.1", parse: fraction, expected: "a fraction from 0 to 1" },
  WEBHOOK_TIMEOUT: { fallback: "30s", parse: durationMs(1), expected: "a positive duration such as 10s, 30s" },
  WEBHOOK_ALLOWED_CIDRS: { fallback: null, parse: cidrs, expected: "comma-separated CIDRs such as 10.1.0.0/16, fd00::/8" },
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: { fallback: "false", parse: boolean, expected: "true or false" },
  WEBHOOK_MAX_PER_DESTINATION: { fallback: "16", parse: integer(1, 10_000), expected: "a whole number from 1 to 10000" },
  HTTP_PORT: { fallback: "8080", parse: integer(0, 65535), expected: "a TCP port from 0 to 65535" },
  HTTP_HOST: { fallback: "0.0.0.0", parse: text, expected: "an address to listen on" },
  ADMIN_TOKEN: { fallback: null, parse: token, expected: "at least 16 characters without spaces" },
  METRICS_TOKEN: { fallback: null, parse: token, expected: "at least 16 characters without spaces" },
  LOG_LEVEL: { fallback: "info", parse: logLevel, expected: "one of debug, info, warn, error" },
  DISPATCH_CONCURRENCY: { fallback: "64", parse: integer(1, 10_000), expected: "a whole number from 1 to 10000" },
  POLL_INTERVAL: { fallback: "1s", parse: durationMs(10), expected: "a duration of at least 10ms such as 500ms, 1s" },
  OUTBOX_BATCH_SIZE: { fallback: "500", parse: integer(1, 10_000), expected: "a whole number from 1 to 10000" },
  SHUTDOWN_TIMEOUT: { fallback: "25s", parse: durationMs(0), expected: "a duration such as 25s, 10s" },
  RETENTION_PERIOD: { fallback: "720h", parse: durationMs(0), expected: "a duration such as 720h, 168h, or 0 to keep everything" },
  OUTBOX_RETENTION: { fallback: "24h", parse: durationMs(0), expected: "a duration such as 24h, 1h, or 0 to keep everything" },
  // 256 MiB at most: a body is built as one JavaScript string, and two of them must fit in V8's string limit (512 MiB).
  WEBHOOK_MAX_PAYLOAD: { fallback: "1MiB", parse: byteSize(1024, 256 * 1024 ** 2), expected: "a size from 1KiB to 256MiB such as 1MiB, 512KiB, 1048576" },
} satisfies Record<string, Setting<unknown>>;

type Settings = typeof settings;
/** Parsed values once no error was found: `undefined` (a parse failure) is gone by then. */
type Parsed = {
  [K in keyof Settings]: Exclude<ReturnType<Settings[K]["parse"]>, undefined> | (Settings[K]["fallback"] extends null ? null : never);
};

/** The names of every variable the dispatcher reads, for documentation and tests. */
export const configVariables = Object.keys(settings) as readonly (keyof Settings)[];

export type ConfigResult = { readonly ok: true; readonly config: Config } | { readonly ok: false; readonly errors: readonly string[] };

/**
 * Parses the environment. Unset or empty variables take their default. Each bad value gives one
 * line naming the variable, the value and what is expected — ADMIN_TOKEN's value is never echoed.
 */
export function parseConfig(env: Env): ConfigResult {
  const errors: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings) as [string, Setting<unknown>][]) {
    const given = env[name];
    const raw = given === undefined || given === "" ? setting.fallback : given;
    if (raw === null) {
      values[name] = null;
      continue;
    }
    const value = setting.parse(raw);
    if (value === undefined) {
      const shown = HIDDEN_VALUES.has(name) ? "(value hidden)" : JSON.stringify(raw);
      errors.push(`${name}=${shown} is invalid: expected ${setting.expected}`);
    }
    values[name] = value;
  }
  const v = values as unknown as Parsed;
  if (errors.length === 0 && v.WEBHOOK_RETRY_BASE_DELAY > v.WEBHOOK_RETRY_MAX_DELAY) {
    errors.push(
      `WEBHOOK_RETRY_BASE_DELAY=${JSON.stringify(env.WEBHOOK_RETRY_BASE_DELAY ?? settings.WEBHOOK_RETRY_BASE_DELAY.fallback)} is invalid: expected at most WEBHOOK_RETRY_MAX_DELAY (${env.WEBHOOK_RETRY_MAX_DELAY ?? settings.WEBHOOK_RETRY_MAX_DELAY.fallback})`,
    );
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: configOf(v) };
}

/** Variables whose values an error never shows: tokens, and a URL that may hold a password. */
const HIDDEN_VALUES = new Set(["ADMIN_TOKEN", "METRICS_TOKEN", "DATABASE_URL"]);

function configOf(v: Parsed): Config {
  return Object.freeze({
    databaseUrl: v.DATABASE_URL,
    dataDir: v.DATA_DIR,
    kafkaBrokers: Object.freeze(v.KAFKA_BROKERS ?? []),
    kafkaTopic: v.KAFKA_TOPIC_WEBHOOKS,
    kafkaGroupId: v.KAFKA_GROUP_ID,
    kafkaFetchMaxBytes: v.KAFKA_FETCH_MAX_BYTES,
    kafkaBatchSize: v.KAFKA_BATCH_SIZE,
    backoff: Object.freeze({
      maxAttempts: v.WEBHOOK_MAX_RETRIES,
      baseDelayMs: v.WEBHOOK_RETRY_BASE_DELAY,
      maxDelayMs: v.WEBHOOK_RETRY_MAX_DELAY,
      jitter: v.WEBHOOK_RETRY_JITTER,
    }),
    webhookTimeoutMs: v.WEBHOOK_TIMEOUT,
    destinationPolicy: Object.freeze({
      allowPrivateNetworks: v.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      allowedCidrs: Object.freeze(v.WEBHOOK_ALLOWED_CIDRS ?? []),
    }),
    perDestinationConcurrency: v.WEBHOOK_MAX_PER_DESTINATION,
    httpPort: v.HTTP_PORT,
    httpHost: v.HTTP_HOST,
    adminToken: v.ADMIN_TOKEN,
    metricsToken: v.METRICS_TOKEN,
    logLevel: v.LOG_LEVEL,
    concurrency: v.DISPATCH_CONCURRENCY,
    pollIntervalMs: v.POLL_INTERVAL,
    outboxBatchSize: v.OUTBOX_BATCH_SIZE,
    maxPayloadBytes: v.WEBHOOK_MAX_PAYLOAD,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT,
    retentionMs: v.RETENTION_PERIOD,
    outboxRetentionMs: v.OUTBOX_RETENTION,
  });
}
