/** Medians and percentiles of measured runs. */

export function median(values: readonly number[]): number {
  return percentile(values, 0.5);
}

/** The `p` quantile (0..1) by linear interpolation between the nearest ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (sorted.length - 1) * p;
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/** Field by field medians of runs that all have the same numeric fields. */
export function medians<T extends object>(runs: readonly T[]): { [K in keyof T]: number } {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    const values = runs.map((run) => (run as Record<string, unknown>)[key]).filter((v): v is number => typeof v === "number");
    if (values.length === runs.length) out[key] = median(values);
  }
  return out as { [K in keyof T]: number };
}

export function round(value: number, digits = 0): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Receipt minus `from[i]` of each of `ids`, ms. Throws when any never arrived, saying how many
 * and which: an event left out of the percentiles would make a stall look like good latency.
 */
export function receiptLatencies(what: string, ids: readonly string[], from: readonly number[], receipts: ReadonlyMap<string, number>): number[] {
  const missing = ids.filter((id) => !receipts.has(id));
  if (missing.length > 0) {
    throw new Error(`${what}: ${missing.length} of ${ids.length} events missing at the receiver (job ${missing.slice(0, 3).join(", ")}${missing.length > 3 ? ", …" : ""})`);
  }
  return ids.map((id, i) => receipts.get(id)! - from[i]!);
}
