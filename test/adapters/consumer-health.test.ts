import { describe, expect, it } from "vitest";
import { createConsumerHealth } from "../../src/adapters/kafka/consumer-health.ts";

describe("Kafka consumer health", () => {
  it("is not ready before the first fetch, then ready, then not ready after 15 s without a fetch", () => {
    let now = 0;
    const health = createConsumerHealth(() => now);
    expect(health.readiness()).toEqual({ ready: false, reason: "kafka: not connected yet" });
    health.healthy();
    expect(health.readiness()).toEqual({ ready: true });
    now = 15_001;
    expect(health.readiness()).toEqual({ ready: false, reason: "kafka: no fetch from the brokers for 15 s" });
  });

  it("waits 1, 2, 4 s … up to 60 s before each restart of a consumer that keeps stopping, and says so", () => {
    const health = createConsumerHealth(() => 0);
    const waits = Array.from({ length: 8 }, () => health.stopped("boom").waitMs);
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    expect(health.readiness()).toEqual({ ready: false, reason: "kafka: consumer stopped 8 times in a row, last because: boom; restarting in 60 s" });
  });

  it("starts a new series after progress, or after fetching for 30 s since the restart, but not after a fetch alone", () => {
    let now = 0;
    const health = createConsumerHealth(() => now);
    health.stopped("boom");
    health.stopped("boom");
    health.started();
    health.healthy();
    expect(health.stopped("boom").stopsInARow).toBe(3);
    health.started();
    now = 30_000;
    health.healthy();
    expect(health.stopped("boom")).toEqual({ waitMs: 1_000, stopsInARow: 1 });
    health.stopped("boom");
    health.progressed();
    expect(health.readiness()).toEqual({ ready: true });
    expect(health.stopped("boom").stopsInARow).toBe(1);
  });
});
