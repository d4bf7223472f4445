/**
 * Vitest global setup: once per run, before any test worker starts, gets PostgreSQL and Kafka
 * (see services.ts for where from) and hands them to the tests:
 *
 * - `inject("kafkaBrokers")`, `inject("kafkaKind")`, `inject("postgresUrl")`, `inject("postgresKind")`;
 * - and the environment the workers inherit: `KAFKA_BROKERS`, `TEST_POSTGRES_URL` (read by
 *   postgres.ts), `TEST_KAFKA_KIND`.
 *
 * Containers it started are stopped at the end of the run; the local broker is left running.
 */
import type { TestProject } from "vitest/node";
import { describePlan, startServices, type ServiceKind, type Services } from "./services.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
    kafkaKind: ServiceKind;
    postgresUrl: string;
    postgresKind: ServiceKind;
  }
}

let services: Services | undefined;

export async function setup(project: TestProject): Promise<void> {
  services = await startServices();
  // Containers answer on ports known only now; the line printed before did not say where.
  if (services.describe !== describePlan(services.plan)) console.log(services.describe.replace(/^services:/, "services ready:"));
  process.env["KAFKA_BROKERS"] = services.kafkaBrokers.join(",");
  process.env["TEST_POSTGRES_URL"] = services.postgresUrl;
  process.env["TEST_KAFKA_KIND"] = services.kafkaKind;
  project.provide("kafkaBrokers", services.kafkaBrokers);
  project.provide("kafkaKind", services.kafkaKind);
  project.provide("postgresUrl", services.postgresUrl);
  project.provide("postgresKind", services.postgresKind);
}

export async function teardown(): Promise<void> {
  await services?.stop();
  services = undefined;
}
