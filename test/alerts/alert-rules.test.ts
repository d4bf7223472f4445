import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createPrometheusMetrics } from "../../src/adapters/metrics/prometheus-metrics.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { projectRoot } from "../support/dispatcher-process.ts";

/** Runs promtool in the project root; its output, or its failure with the output. */
function promtool(...args: string[]): string {
  try {
    return execFileSync("promtool", args, { cwd: projectRoot, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const failed = error as { code?: string; stdout?: string; stderr?: string };
    if (failed.code === "ENOENT") throw new Error("promtool is not installed: apt-get install prometheus (.ci/run does)");
    throw new Error(`promtool ${args.join(" ")} failed:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`);
  }
}

describe("the example alert rules", () => {
  it("are valid Prometheus rules", () => {
    expect(promtool("check", "rules", "docs/alerts.yml")).toContain("SUCCESS: 7 rules found");
  });

  it("fire when they should and stay quiet when they should not (promtool's rule unit tests)", () => {
    expect(promtool("test", "rules", "test/alerts/alerts.test.yml")).toContain("SUCCESS");
  });

  it("name only metrics the dispatcher exports", async () => {
    const metrics = createPrometheusMetrics({ logger: noopLogger });
    metrics.observe({
      backlog: async () => ({ due: 0, pending: 0, oldestDueAt: null, outboxUnprocessed: 0, oldestOutboxAt: null }),
      attemptsInFlight: () => 0,
      waitingForDestination: () => 0,
      kafkaLag: async () => [],
      now: () => Date.now(),
    });
    const exported = new Set([...(await metrics.scrape()).body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
    const named = new Set(readFileSync(`${projectRoot}/docs/alerts.yml`, "utf8").match(/\bwebhook_[a-z_]+/g));
    expect(named.size).toBeGreaterThan(5);
    for (const name of named) expect(exported, name).toContain(name);
  });
});
