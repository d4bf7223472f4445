import { execFileSync } from "node:child_process";

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One line of the text format: `name{label="value",...} value`. */
const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * A scrape, read sample by sample (the values; whether it is valid Prometheus text is
 * promtool's to say, see `promtoolMetricsProblems`). Throws on a line it cannot read.
 */
export function parseMetrics(text: string) {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      types.set(name!, type!);
    }
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? "").matchAll(LABEL)].map((m) => [m[1]!, m[2]!]));
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  const matching = (name: string, labels: Readonly<Record<string, string>>) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
  return {
    types,
    /** The value of the one sample of `name` with `labels`; 0 when the counter has no such series yet. */
    value(name: string, labels: Readonly<Record<string, string>> = {}): number {
      const found = matching(name, labels);
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found.length === 0 ? 0 : found[0]!.value;
    },
    /** Whether a sample of `name` with `labels` is there at all. */
    has: (name: string, labels: Readonly<Record<string, string>> = {}) => matching(name, labels).length > 0,
    /** A histogram's count and sum, and its cumulative bucket counts by upper bound. */
    histogram(name: string, labels: Readonly<Record<string, string>> = {}) {
      if (types.get(name) !== "histogram") throw new Error(`${name} is not a histogram`);
      const buckets = Object.fromEntries(matching(`${name}_bucket`, labels).map((s) => [s.labels["le"]!, s.value]));
      return { count: this.value(`${name}_count`, labels), sum: this.value(`${name}_sum`, labels), buckets };
    },
  };
}

/**
 * Prometheus's own check of a scrape (`promtool check metrics`): the problems it reports, one per
 * line, except its naming complaint about three gauges of prom-client's default metrics
 * (`nodejs_active_*_total`), which are prom-client's names, not ours.
 */
export function promtoolMetricsProblems(text: string): string[] {
  let output: string;
  try {
    output = execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; code?: string };
    if (failed.code === "ENOENT") throw new Error("promtool is not installed: apt-get install prometheus (.ci/run does)");
    output = `${failed.stdout ?? ""}${failed.stderr ?? ""}`;
  }
  return output
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(line));
}
