import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  chooseServices,
  DEFAULT_KAFKA_IMAGE,
  DEFAULT_POSTGRES_IMAGE,
  describePlan,
  LOCAL_POSTGRES_URL,
  probeContainerEngine,
  type Env,
  type Plan,
} from "../support/services.ts";

const engine = { containerEngine: true };
const noEngine = { containerEngine: false };

const local: Plan = {
  postgres: { kind: "local", url: LOCAL_POSTGRES_URL },
  kafka: { kind: "local", brokers: ["127.0.0.1:9092"], script: "scripts/kafka.sh" },
};
const containers: Plan = {
  postgres: { kind: "testcontainers", image: DEFAULT_POSTGRES_IMAGE },
  kafka: { kind: "testcontainers", image: DEFAULT_KAFKA_IMAGE },
};

describe("chooseServices", () => {
  const cases: { name: string; env: Env; probe: { containerEngine: boolean }; plan: Plan }[] = [
    { name: "nothing given, no engine → local", env: {}, probe: noEngine, plan: local },
    { name: "nothing given, an engine → testcontainers", env: {}, probe: engine, plan: containers },
    {
      name: "both given → given, engine or not",
      env: { TEST_POSTGRES_URL: "postgres://u:p@db:5433/x", KAFKA_BROKERS: "k1:9092, k2:9092" },
      probe: engine,
      plan: {
        postgres: { kind: "given", url: "postgres://u:p@db:5433/x", variable: "TEST_POSTGRES_URL" },
        kafka: { kind: "given", brokers: ["k1:9092", "k2:9092"] },
      },
    },
    {
      name: "DATABASE_URL counts when TEST_POSTGRES_URL is unset",
      env: { DATABASE_URL: "postgres://db/app" },
      probe: noEngine,
      plan: { postgres: { kind: "given", url: "postgres://db/app", variable: "DATABASE_URL" }, kafka: local.kafka },
    },
    {
      name: "TEST_POSTGRES_URL wins over DATABASE_URL",
      env: { DATABASE_URL: "postgres://db/app", TEST_POSTGRES_URL: "postgres://test/postgres" },
      probe: noEngine,
      plan: { postgres: { kind: "given", url: "postgres://test/postgres", variable: "TEST_POSTGRES_URL" }, kafka: local.kafka },
    },
    {
      name: "Kafka given, Postgres not, an engine → Postgres in a container",
      env: { KAFKA_BROKERS: "k:9092" },
      probe: engine,
      plan: { postgres: containers.postgres, kafka: { kind: "given", brokers: ["k:9092"] } },
    },
    {
      name: "empty variables count as unset",
      env: { KAFKA_BROKERS: " , ", TEST_POSTGRES_URL: "", DATABASE_URL: "  " },
      probe: noEngine,
      plan: local,
    },
    {
      name: "KAFKA_PORT moves the local broker",
      env: { KAFKA_PORT: "19092" },
      probe: noEngine,
      plan: { postgres: local.postgres, kafka: { kind: "local", brokers: ["127.0.0.1:19092"], script: "scripts/kafka.sh" } },
    },
    { name: "TEST_SERVICES=local → local even with an engine", env: { TEST_SERVICES: "local" }, probe: engine, plan: local },
    {
      name: "TEST_SERVICES=testcontainers → testcontainers without an engine found",
      env: { TEST_SERVICES: "testcontainers" },
      probe: noEngine,
      plan: containers,
    },
    {
      name: "images can be chosen",
      env: { TEST_POSTGRES_IMAGE: "postgres:17", TEST_KAFKA_IMAGE: "confluentinc/cp-kafka:8.1.0" },
      probe: engine,
      plan: {
        postgres: { kind: "testcontainers", image: "postgres:17" },
        kafka: { kind: "testcontainers", image: "confluentinc/cp-kafka:8.1.0" },
      },
    },
  ];

  it.each(cases)("$name", ({ env, probe, plan }) => {
    expect(chooseServices(env, probe)).toEqual(plan);
  });

  it("rejects an unknown TEST_SERVICES", () => {
    expect(() => chooseServices({ TEST_SERVICES: "docker" }, engine)).toThrow(/TEST_SERVICES=docker/);
  });
});

describe("describePlan", () => {
  it.each([
    {
      plan: local,
      line: "services: postgres=local (127.0.0.1:5432), kafka=local broker via scripts/kafka.sh (127.0.0.1:9092)",
    },
    {
      plan: containers,
      line: `services: postgres=testcontainers (${DEFAULT_POSTGRES_IMAGE}), kafka=testcontainers (${DEFAULT_KAFKA_IMAGE})`,
    },
    {
      plan: chooseServices({ TEST_POSTGRES_URL: "postgres://user:secret@db.example:6543/tests", KAFKA_BROKERS: "k1:9092,k2:9092" }, noEngine),
      line: "services: postgres=given by TEST_POSTGRES_URL (db.example:6543/tests), kafka=given by KAFKA_BROKERS (k1:9092,k2:9092)",
    },
  ])("$line", ({ plan, line }) => {
    expect(describePlan(plan)).toBe(line);
    expect(describePlan(plan)).not.toContain("secret");
  });
});

describe("probeContainerEngine", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  async function fakeEngine(status: number): Promise<string> {
    const dir = mkdtempSync(path.join(tmpdir(), "fake-docker-"));
    const socketPath = path.join(dir, "docker.sock");
    const server = http.createServer((request, response) => {
      response.writeHead(request.url === "/_ping" ? status : 404).end("OK");
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    cleanups.push(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return socketPath;
  }

  it("is true when DOCKER_HOST answers /_ping with 200", async () => {
    const socket = await fakeEngine(200);
    expect(await probeContainerEngine({ DOCKER_HOST: `unix://${socket}` })).toBe(true);
  });

  it("is false when the engine answers with an error", async () => {
    const socket = await fakeEngine(500);
    expect(await probeContainerEngine({ DOCKER_HOST: `unix://${socket}` })).toBe(false);
  });

  it("is false when nothing listens", async () => {
    expect(await probeContainerEngine({ DOCKER_HOST: "unix:///nonexistent/docker.sock" })).toBe(false);
    expect(await probeContainerEngine({ DOCKER_HOST: "tcp://127.0.0.1:1" }, 500)).toBe(false);
  });

  it("does not probe schemes it cannot ping", async () => {
    expect(await probeContainerEngine({ DOCKER_HOST: "ssh://user@host" })).toBe(false);
  });
});
