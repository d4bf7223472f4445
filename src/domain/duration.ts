/**
 * Go `time.ParseDuration` for config values (`250ms`, `30s`, `1m30s`, `24h`).
 * Arithmetic is done in integer nanoseconds with BigInt, as Go does in int64, so `1.1s` is
 * exactly 1100 ms and not 1100.0000000000002.
 */

const NS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // µ MICRO SIGN, what Go prints
  "\u03bcs": 1_000n, // μ GREEK SMALL LETTER MU, also accepted by Go
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

// Go rejects durations beyond int64 nanoseconds (about 292 years); so do we.
const MAX_NS = (1n << 63n) - 1n;
const NS_PER_MS = 1_000_000n;

// One component: digits with an optional fraction (at least one digit overall), then a unit.
const COMPONENT = /^(\d*)(?:\.(\d*))?([a-z\u00b5\u03bc]+)/;

/**
 * Parses a non-negative Go duration into milliseconds (fractional for sub-ms values).
 * Returns null for anything Go would reject, and for negative durations.
 */
export function parseDuration(text: string): number | null {
  let rest = text.startsWith("+") ? text.slice(1) : text;
  if (rest === "0") return 0;
  if (rest === "") return null;
  let totalNs = 0n;
  while (rest !== "") {
    const match = COMPONENT.exec(rest);
    if (match === null) return null;
    const [whole, intDigits = "", fracDigits = "", unit = ""] = match;
    if (intDigits === "" && fracDigits === "") return null;
    const unitNs = NS_PER_UNIT[unit];
    if (unitNs === undefined) return null;
    const intPart = intDigits === "" ? 0n : BigInt(intDigits);
    // Like Go, digits finer than a nanosecond are truncated.
    const fracPart = fracDigits === "" ? 0n : (BigInt(fracDigits) * unitNs) / 10n ** BigInt(fracDigits.length);
    totalNs += intPart * unitNs + fracPart;
    if (totalNs > MAX_NS) return null;
    rest = rest.slice(whole.length);
  }
  return nsToMs(totalNs);
}

function nsToMs(ns: bigint): number {
  // One division is correctly rounded while ns is exact as a double; beyond 2^53 ns (about
  // 104 days) splitting keeps whole milliseconds exact.
  if (ns <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(ns) / 1e6;
  return Number(ns / NS_PER_MS) + Number(ns % NS_PER_MS) / 1e6;
}
