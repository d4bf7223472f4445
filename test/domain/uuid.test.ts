import { describe, expect, it } from "vitest";
import { isUuid } from "../../src/domain/uuid.ts";

describe("isUuid", () => {
  it.each(["0190f3a0-7b1c-7d2e-8f3a-0123456789ab", "0190F3A0-7B1C-7D2E-8F3A-0123456789AB", "00000000-0000-0000-0000-000000000000"])(
    "accepts %s",
    (value) => {
      expect(isUuid(value)).toBe(true);
    },
  );

  it.each(["", "not-a-uuid", "0190f3a07b1c7d2e8f3a0123456789ab", "{0190f3a0-7b1c-7d2e-8f3a-0123456789ab}", " 0190f3a0-7b1c-7d2e-8f3a-0123456789ab", "0190f3a0-7b1c-7d2e-8f3a-0123456789ag", "'; drop table jobs; --"])(
    "rejects %j",
    (value) => {
      expect(isUuid(value)).toBe(false);
    },
  );
});
