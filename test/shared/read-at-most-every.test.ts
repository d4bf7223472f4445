import { describe, expect, it } from "vitest";
import { readAtMostEvery } from "../../src/shared/read-at-most-every.ts";

describe("read at most every", () => {
  it("reads once per interval however often it is asked, and shares a read that is running", async () => {
    let now = 0;
    let reads = 0;
    const read = readAtMostEvery(async () => ++reads, { intervalMs: 5_000, now: () => now });
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    now = 4_999;
    expect(await read()).toBe(1);
    now = 5_000;
    expect(await read()).toBe(2);
    expect(reads).toBe(2);
  });

  it("keeps no failure: the next call reads again", async () => {
    let fail = true;
    const read = readAtMostEvery(async () => (fail ? Promise.reject(new Error("down")) : "up"), { intervalMs: 5_000, now: () => 0 });
    await expect(read()).rejects.toThrow("down");
    fail = false;
    expect(await read()).toBe("up");
  });
});
