import type { EachBatchPayload, OffsetsByTopicPartition } from "kafkajs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createOffsetCommits } from "../../src/adapters/kafka/offset-commits.ts";
import { capturingLogger } from "../support/app-fixtures.ts";

/** The part of a consumer group the payloads share: resolved and committed offsets by partition, and the commits sent. */
function fakeGroup(options: { failCommits?: number } = {}) {
  const resolved = new Map<number, string>();
  const committed = new Map<number, string>();
  const commits: Record<number, string>[] = [];
  let failures = options.failCommits ?? 0;
  let running = true;
  const payloadOf = (partition: number): EachBatchPayload =>
    ({
      resolveOffset: (offset: string) => resolved.set(partition, String(BigInt(offset) + 1n)),
      uncommittedOffsets: (): OffsetsByTopicPartition => {
        const partitions = [...resolved].filter(([p, offset]) => committed.get(p) !== offset).map(([p, offset]) => ({ partition: p, offset }));
        return { topics: partitions.length > 0 ? [{ topic: "t", partitions }] : [] };
      },
      commitOffsetsIfNecessary: async (offsets?: { topics: { partitions: { partition: number; offset: string }[] }[] }) => {
        if (failures > 0) {
          failures--;
          throw new Error("The coordinator is not available");
        }
        const sent = offsets!.topics.flatMap((t) => t.partitions);
        commits.push(Object.fromEntries(sent.map((p) => [p.partition, p.offset])));
        for (const p of sent) committed.set(p.partition, p.offset);
      },
      isRunning: () => running,
    }) as unknown as EachBatchPayload;
  return { payloadOf, commits, stop: () => (running = false) };
}

describe("offset commits", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("commits nothing as parts are resolved, then every partition's resolved offset in one commit an interval after the first", async () => {
    const group = fakeGroup();
    const commits = createOffsetCommits({ intervalMs: 1_000, logger: capturingLogger() });
    const [p0, p1] = [group.payloadOf(0), group.payloadOf(1)];
    p0.resolveOffset("9");
    await commits.resolved(p0);
    await vi.advanceTimersByTimeAsync(600);
    p1.resolveOffset("4");
    await commits.resolved(p1);
    p0.resolveOffset("19");
    await commits.resolved(p0);
    expect(group.commits).toEqual([]);
    await vi.advanceTimersByTimeAsync(400);
    expect(group.commits).toEqual([{ 0: "20", 1: "5" }]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(group.commits).toHaveLength(1);
  });

  it("commits what is resolved at once when the input stops, and each part resolved after that as it comes", async () => {
    const group = fakeGroup();
    const commits = createOffsetCommits({ intervalMs: 1_000, logger: capturingLogger() });
    const p0 = group.payloadOf(0);
    p0.resolveOffset("9");
    await commits.resolved(p0);
    await commits.flush();
    expect(group.commits).toEqual([{ 0: "10" }]);
    p0.resolveOffset("12");
    await commits.resolved(p0);
    expect(group.commits).toEqual([{ 0: "10" }, { 0: "13" }]);
  });

  it("commits a part resolved after kafkajs began stopping at once", async () => {
    const group = fakeGroup();
    const commits = createOffsetCommits({ intervalMs: 1_000, logger: capturingLogger() });
    const p0 = group.payloadOf(0);
    group.stop();
    p0.resolveOffset("3");
    await commits.resolved(p0);
    expect(group.commits).toEqual([{ 0: "4" }]);
  });

  it("tries a failed commit again an interval later, and logs the failure", async () => {
    const group = fakeGroup({ failCommits: 1 });
    const logger = capturingLogger();
    const commits = createOffsetCommits({ intervalMs: 1_000, logger });
    const p0 = group.payloadOf(0);
    p0.resolveOffset("7");
    await commits.resolved(p0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(group.commits).toEqual([]);
    expect(logger.lines.some((line) => line.includes("could not commit Kafka offsets"))).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(group.commits).toEqual([{ 0: "8" }]);
  });
});
