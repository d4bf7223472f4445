import { describe, expect, it } from "vitest";
import { uuidV7 } from "../../src/adapters/uuid-v7.ts";
import { isUuid } from "../../src/domain/uuid.ts";

describe("uuidV7", () => {
  it("is a well-formed UUID with version 7 and the RFC 9562 variant", () => {
    for (let i = 0; i < 1000; i++) {
      const id = uuidV7();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(isUuid(id)).toBe(true);
    }
  });

  it("starts with the creation time in milliseconds, so ids sort by creation across milliseconds", () => {
    const at = Date.UTC(2026, 10, 28, 21, 0, 0, 123);
    const id = uuidV7(at);
    expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(at);
    const ids = [at, at + 1, at + 1000, at + 86_400_000].map((t) => uuidV7(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it("does not repeat within one millisecond", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => uuidV7(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
  });
});
