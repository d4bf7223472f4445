/**
 * The one place that decides where the integration tests get PostgreSQL and Kafka:
 *
 * 1. given: `TEST_POSTGRES_URL` (or `DATABASE_URL`) and `KAFKA_BROKERS` name servers you run;
 * 2. testcontainers: not given, and a container engine (Docker) answers → containers, started
 *    with `@testcontainers/postgresql` / `@testcontainers/kafka` (imported only then: the
 *    testcontainers packages are never loaded on machines without an engine);
 * 3. local: this machine's PostgreSQL on 127.0.0.1:5432 and the broker of `scripts/kafka.sh`
 *    (Apache Kafka's own jars, Java 17, KRaft, 127.0.0.1:9092).
 *
 * `TEST_SERVICES=local` chooses 3 even where an engine answers; `TEST_SERVICES=testcontainers`
 * chooses 2 without asking the engine. Whatever is chosen is printed in one line at the start of the
 * run, and when a service cannot be had the run fails saying how to provide it: it never skips.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { homedir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export type Env = Readonly<Record<string, string | undefined>>;

export interface Probe {
  /** A Docker-compatible engine answered `GET /_ping`. */
  readonly containerEngine: boolean;
}

export type PostgresPlan =
  | { readonly kind: "given"; readonly url: string; readonly variable: "TEST_POSTGRES_URL" | "DATABASE_URL" }
  | { readonly kind: "testcontainers"; readonly image: string }
  | { readonly kind: "local"; readonly url: string };

export type KafkaPlan =
  | { readonly kind: "given"; readonly brokers: readonly string[] }
  | { readonly kind: "testcontainers"; readonly image: string }
  | { readonly kind: "local"; readonly brokers: readonly string[]; readonly script: string };

export interface Plan {
  readonly postgres: PostgresPlan;
  readonly kafka: KafkaPlan;
}

export type ServiceKind = Plan["kafka"]["kind"];

export interface Services {
  readonly plan: Plan;
  /** A server URL on which the tests may create databases (what `TEST_POSTGRES_URL` means). */
  readonly postgresUrl: string;
  readonly kafkaBrokers: string[];
  readonly postgresKind: ServiceKind;
  readonly kafkaKind: ServiceKind;
  /** One line: what was chosen and where it answers. */
  readonly describe: string;
  /** Stops what this run started (containers). The local broker is left running for the next run. */
  stop(): Promise<void>;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const KAFKA_SCRIPT = path.join(REPO_ROOT, "scripts", "kafka.sh");
/** The server `test/support/postgres.ts` uses when `TEST_POSTGRES_URL` is unset. */
export const LOCAL_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres";
/** testcontainers-node's own Kafka module tests run this image (Confluent Platform 8.2 = Apache Kafka 4.2). */
export const DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:8.2.0";
/** The PostgreSQL major of the development machines. */
export const DEFAULT_POSTGRES_IMAGE = "postgres:15-alpine";

const HOW_TO_PROVIDE = {
  postgres: [
    "start PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres (CI: .ci/run starts it), or",
    "set TEST_POSTGRES_URL=postgres://user:password@host:port/db to a server where that user may create databases, or",
    "start Docker (or set DOCKER_HOST) so the tests start PostgreSQL with Testcontainers",
  ],
  kafka: [
    "run scripts/kafka.sh start (Apache Kafka on 127.0.0.1:9092; needs Java 17 and Maven with access to Maven Central), or",
    "set KAFKA_BROKERS=host:port[,host:port] to a broker you run, or",
    "start Docker (or set DOCKER_HOST) so the tests start Kafka with Testcontainers",
  ],
};

/** Decides, from the environment and the probe alone, where each service comes from. Pure. */
export function chooseServices(env: Env, probe: Probe): Plan {
  const mode = nonEmpty(env["TEST_SERVICES"]);
  if (mode !== undefined && mode !== "local" && mode !== "testcontainers") {
    throw new Error(`TEST_SERVICES=${mode}: expected "local", "testcontainers", or unset (decide by whether a container engine answers)`);
  }
  const containers = mode === "testcontainers" || (mode === undefined && probe.containerEngine);

  const testUrl = nonEmpty(env["TEST_POSTGRES_URL"]);
  const databaseUrl = nonEmpty(env["DATABASE_URL"]);
  const postgres: PostgresPlan =
    testUrl !== undefined
      ? { kind: "given", url: testUrl, variable: "TEST_POSTGRES_URL" }
      : databaseUrl !== undefined
        ? { kind: "given", url: databaseUrl, variable: "DATABASE_URL" }
        : containers
          ? { kind: "testcontainers", image: nonEmpty(env["TEST_POSTGRES_IMAGE"]) ?? DEFAULT_POSTGRES_IMAGE }
          : { kind: "local", url: LOCAL_POSTGRES_URL };

  const brokers = (env["KAFKA_BROKERS"] ?? "")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "");
  const kafka: KafkaPlan =
    brokers.length > 0
      ? { kind: "given", brokers }
      : containers
        ? { kind: "testcontainers", image: nonEmpty(env["TEST_KAFKA_IMAGE"]) ?? DEFAULT_KAFKA_IMAGE }
        : { kind: "local", brokers: [`127.0.0.1:${nonEmpty(env["KAFKA_PORT"]) ?? "9092"}`], script: "scripts/kafka.sh" };

  return { postgres, kafka };
}

/** The line printed at the start of the run. Pure. */
export function describePlan(plan: Plan): string {
  const postgres = describePostgres(plan.postgres);
  const kafka = describeKafka(plan.kafka);
  return `services: postgres=${postgres}, kafka=${kafka}`;
}

function describePostgres(plan: PostgresPlan, at?: string): string {
  switch (plan.kind) {
    case "given":
      return `given by ${plan.variable} (${at ?? serverOf(plan.url)})`;
    case "testcontainers":
      return `testcontainers (${plan.image}${at ? ` at ${at}` : ""})`;
    case "local":
      return `local (${serverOf(plan.url).replace(/\/.*$/, "")})`;
  }
}

function describeKafka(plan: KafkaPlan, at?: string): string {
  switch (plan.kind) {
    case "given":
      return `given by KAFKA_BROKERS (${plan.brokers.join(",")})`;
    case "testcontainers":
      return `testcontainers (${plan.image}${at ? ` at ${at}` : ""})`;
    case "local":
      return `local broker via ${plan.script} (${plan.brokers.join(",")})`;
  }
}

/**
 * Whether a Docker-compatible engine answers: `GET /_ping` on `DOCKER_HOST` (unix:// or tcp://,
 * TLS when `DOCKER_TLS_VERIFY=1`) or else on /var/run/docker.sock. Does not load testcontainers.
 */
export async function probeContainerEngine(env: Env = process.env, timeoutMs = 1500): Promise<boolean> {
  const dockerHost = nonEmpty(env["DOCKER_HOST"]);
  let options: https.RequestOptions;
  let transport: typeof http | typeof https = http;
  if (dockerHost === undefined || dockerHost.startsWith("unix://")) {
    options = { socketPath: dockerHost === undefined ? "/var/run/docker.sock" : dockerHost.slice("unix://".length) };
  } else if (/^(tcp|http|https):\/\//.test(dockerHost)) {
    const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
    const tls = env["DOCKER_TLS_VERIFY"] === "1" || url.protocol === "https:";
    options = { host: url.hostname, port: Number(url.port || (tls ? 2376 : 2375)) };
    if (tls) {
      transport = https;
      const certs = nonEmpty(env["DOCKER_CERT_PATH"]) ?? path.join(homedir(), ".docker");
      try {
        options = {
          ...options,
          ca: readFileSync(path.join(certs, "ca.pem")),
          cert: readFileSync(path.join(certs, "cert.pem")),
          key: readFileSync(path.join(certs, "key.pem")),
        };
      } catch {
        return false;
      }
    }
  } else {
    return false; // ssh:// and the like: not probed
  }
  return new Promise<boolean>((resolve) => {
    const request = transport.request({ ...options, method: "GET", path: "/_ping", timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", () => resolve(false));
    request.end();
  });
}

/**
 * Chooses (printing the choice), starts or checks both services, and returns where they answer.
 * Throws, saying how to provide what is missing, when a service cannot be had.
 */
export async function startServices(
  options: { env?: Env; log?: (line: string) => void } = {},
): Promise<Services> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.log(line));
  const mode = nonEmpty(env["TEST_SERVICES"]);
  const probe = { containerEngine: mode === undefined ? await probeContainerEngine(env) : mode === "testcontainers" };
  const plan = chooseServices(env, probe);
  log(describePlan(plan));

  const [postgres, kafka] = await Promise.allSettled([startPostgres(plan.postgres), startKafka(plan.kafka, env, log)]);
  if (postgres.status === "rejected" || kafka.status === "rejected") {
    if (postgres.status === "fulfilled") await postgres.value.stop().catch(() => {});
    if (kafka.status === "fulfilled") await kafka.value.stop().catch(() => {});
    const problems = [postgres, kafka].flatMap((result) =>
      result.status === "rejected" ? [result.reason instanceof Error ? result.reason.message : String(result.reason)] : [],
    );
    throw new Error(`the integration tests cannot run without their services:\n\n${problems.join("\n\n")}`);
  }
  const describe = `services: postgres=${describePostgres(plan.postgres, postgres.value.at)}, kafka=${describeKafka(plan.kafka, kafka.value.at)}`;
  return {
    plan,
    postgresUrl: postgres.value.url,
    kafkaBrokers: kafka.value.brokers,
    postgresKind: plan.postgres.kind,
    kafkaKind: plan.kafka.kind,
    describe,
    async stop() {
      await Promise.allSettled([postgres.value.stop(), kafka.value.stop()]);
    },
  };
}

interface Started {
  readonly at: string;
  stop(): Promise<void>;
}

async function startPostgres(plan: PostgresPlan): Promise<Started & { url: string }> {
  if (plan.kind === "testcontainers") {
    let container: { getConnectionUri(): string; getHost(): string; getPort(): number; stop(): Promise<unknown> };
    try {
      const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
      container = await new PostgreSqlContainer(plan.image).start();
    } catch (error) {
      throw unavailable("PostgreSQL", `starting ${plan.image} with Testcontainers failed: ${messageOf(error)}`, HOW_TO_PROVIDE.postgres);
    }
    return {
      url: container.getConnectionUri(),
      at: `${container.getHost()}:${container.getPort()}`,
      stop: async () => {
        await container.stop();
      },
    };
  }
  const source = plan.kind === "given" ? `${plan.variable} (${serverOf(plan.url)})` : `local PostgreSQL (${serverOf(plan.url)})`;
  try {
    await checkPostgres(plan.url);
  } catch (error) {
    throw unavailable("PostgreSQL", `${source} does not answer: ${messageOf(error)}`, HOW_TO_PROVIDE.postgres);
  }
  return { url: plan.url, at: serverOf(plan.url), stop: async () => {} };
}

async function startKafka(plan: KafkaPlan, env: Env, log: (line: string) => void): Promise<Started & { brokers: string[] }> {
  if (plan.kind === "testcontainers") {
    let container: { getHost(): string; getMappedPort(port: number): number; stop(): Promise<unknown> };
    try {
      const { KafkaContainer } = await import("@testcontainers/kafka");
      container = await new KafkaContainer(plan.image)
        .withEnvironment({ KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS: "1000", KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false" })
        .start();
    } catch (error) {
      throw unavailable("Kafka", `starting ${plan.image} with Testcontainers failed: ${messageOf(error)}`, HOW_TO_PROVIDE.kafka);
    }
    // The module's plaintext listener for clients outside the container is its port 9093.
    const broker = `${container.getHost()}:${container.getMappedPort(9093)}`;
    return {
      brokers: [broker],
      at: broker,
      stop: async () => {
        await container.stop();
      },
    };
  }
  if (plan.kind === "local") {
    const result = await runKafkaScript("start", env);
    if (result.code !== 0) {
      throw unavailable("Kafka", `scripts/kafka.sh start failed (exit ${result.code}):\n${indent(tail(result.output, 40))}`, HOW_TO_PROVIDE.kafka);
    }
    for (const line of result.output.trimEnd().split("\n")) if (line) log(line);
  }
  try {
    await checkKafka(plan.brokers);
  } catch (error) {
    const source = plan.kind === "given" ? `KAFKA_BROKERS (${plan.brokers.join(",")})` : `the local broker (${plan.brokers.join(",")})`;
    throw unavailable("Kafka", `${source} does not answer: ${messageOf(error)}`, HOW_TO_PROVIDE.kafka);
  }
  return { brokers: [...plan.brokers], at: plan.brokers.join(","), stop: async () => {} };
}

/** Runs `scripts/kafka.sh <command>`; resolves with its exit code and combined output. */
export function runKafkaScript(command: "start" | "stop" | "status", env: Env = process.env): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      [KAFKA_SCRIPT, command],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}${error && typeof error.code !== "number" ? `\n${error.message}` : ""}` });
      },
    );
  });
}

async function checkPostgres(url: string): Promise<void> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, connect_timeout: 5, idle_timeout: 1, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

async function checkKafka(brokers: readonly string[]): Promise<void> {
  const { Kafka, logLevel } = await import("kafkajs");
  const admin = new Kafka({
    clientId: "test-services",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 3, initialRetryTime: 300 },
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

function unavailable(service: string, reason: string, how: readonly string[]): Error {
  return new Error(`${service} is not available: ${reason}\nTo provide ${service}:\n${how.map((line) => `  - ${line}`).join("\n")}`);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** host:port/database of a Postgres URL, without credentials. */
function serverOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`.replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
}
