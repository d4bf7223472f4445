import { describe, expect, it } from "vitest";
import { parseByteSize } from "../../src/domain/byte-size.ts";

describe("parseByteSize", () => {
  it.each([
    ["1048576", 1_048_576],
    ["0", 0],
    ["512B", 512],
    ["512KiB", 524_288],
    ["1MiB", 1_048_576],
    ["2GiB", 2_147_483_648],
    ["500kB", 500_000],
    ["500KB", 500_000],
    ["1MB", 1_000_000],
    ["1GB", 1_000_000_000],
    [" 64 MiB ", 67_108_864],
  ])("reads %j as %d bytes", (text, bytes) => {
    expect(parseByteSize(text)).toBe(bytes);
  });

  it.each(["", "MiB", "1.5MiB", "-1", "1mb", "1 MiBs", "1TiB", "ten", "99999999999999999999"])("refuses %j", (text) => {
    expect(parseByteSize(text)).toBeNull();
  });
});
