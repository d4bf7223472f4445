import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { countingDeadLetters } from "../../src/app/count-dead-letters.ts";
import { recordingMetrics } from "../support/app-fixtures.ts";
import { newDeadLetter } from "../support/contract-subject.ts";

describe("counting dead letters", () => {
  it("counts the dead letters of a transaction once it commits, by input and reason code", async () => {
    const metrics = recordingMetrics();
    const db = countingDeadLetters(createMemoryDatabase(), metrics);
    await db.transaction(async (tx) => {
      await tx.deadLetters.recordDeadLetters([newDeadLetter({ source: "kafka", reason: "invalid_json: Unexpected token" }), newDeadLetter({ source: "kafka", reason: "unknown_job" })]);
      await tx.deadLetters.recordDeadLetters([newDeadLetter({ source: "kafka", reason: "invalid_json: Unexpected end" })]);
      expect(metrics.reports).toEqual([]);
    });
    expect(metrics.reports).toEqual([
      ["deadLettered", "kafka", "invalid_json", 2],
      ["deadLettered", "kafka", "unknown_job", 1],
    ]);
    expect(await db.deadLetters.listDeadLetters({ limit: 10 })).toHaveLength(3);
  });

  it("counts none of a transaction that rolls back, and labels a reason without a code as other", async () => {
    const metrics = recordingMetrics();
    const db = countingDeadLetters(createMemoryDatabase(), metrics);
    await expect(
      db.transaction(async (tx) => {
        await tx.deadLetters.recordDeadLetters([newDeadLetter({ source: "outbox", reason: "unknown_job" })]);
        throw new Error("connection lost");
      }),
    ).rejects.toThrow("connection lost");
    expect(metrics.reports).toEqual([]);
    await db.transaction((tx) => tx.deadLetters.recordDeadLetters([newDeadLetter({ source: "api", reason: "Something Free-Form went wrong" })]));
    expect(metrics.reports).toEqual([["deadLettered", "api", "other", 1]]);
  });
});
