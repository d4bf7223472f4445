import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/domain/duration.ts";

describe("parseDuration", () => {
  it.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["1m30s", 90_000],
    ["1h30m", 5_400_000],
    ["24h", 86_400_000],
    ["1.5h", 5_400_000],
    ["0", 0],
    ["+0", 0],
    ["0s", 0],
    ["+5s", 5_000],
    ["1.1s", 1_100],
    [".5s", 500],
    ["5.s", 5_000],
    ["1000ns", 0.001],
    ["1ns", 0.000001],
    ["1us", 0.001],
    ["1\u00b5s", 0.001],
    ["1\u03bcs", 0.001],
    ["1.5ms", 1.5],
    ["1h4m0s", 3_840_000],
    ["2h45m30.5s", 9_930_500],
    ["10s10s", 20_000],
    ["1.0000000001s", 1_000],
  ])("reads %j as %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    "",
    "-1s",
    "-0",
    "30",
    "1x",
    "1S",
    "s",
    ".s",
    "1.2.3s",
    "1 s",
    " 1s",
    "1s ",
    "1h30",
    "00",
    "+",
    "1d",
    "9999999999h",
  ])("rejects %j", (text) => {
    expect(parseDuration(text)).toBeNull();
  });

  it("reads any whole number of milliseconds exactly, written in hours, minutes and seconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9_000_000_000_000 }), (ms) => {
        expect(parseDuration(hoursMinutesSeconds(BigInt(ms) * 1_000_000n))).toBe(ms);
      }),
    );
  });

  it("reads any whole number of nanoseconds exactly, written in hours, minutes and seconds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 50 }), (ns) => {
        expect(parseDuration(hoursMinutesSeconds(BigInt(ns)))).toBe(ns / 1e6);
      }),
    );
  });
});

/** A whole number of nanoseconds as Go's `Duration.String` writes one over a minute: `1h4m0.5s`. */
function hoursMinutesSeconds(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  return `${seconds / 3600n}h${(seconds / 60n) % 60n}m${seconds % 60n}${fraction === "" ? "" : `.${fraction}`}s`;
}
