/** The results file's shape, the performance targets as measured ratios, and the markdown tables. */
import { median, round } from "./stats.ts";

export type Outcome =
  | { runs: object[]; median: Record<string, number> }
  | { error: string };

export interface Results {
  date: string;
  finished: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  scenarios: Record<string, Outcome & { seconds: number }>;
  targets?: Target[];
}

export interface Target {
  measure: string;
  target: string;
  measured: string;
  pass: boolean | null;
}

type Scenarios = Results["scenarios"];

const mib = (bytes: number | undefined) => (bytes === undefined ? "—" : `${(bytes / 2 ** 20).toFixed(0)} MiB`);
const num = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? "—" : round(n, digits).toLocaleString("en-US"));
/** `a / b` as "0.95 × label", or — when either is unmeasured. */
const times = (a: number | undefined, b: number | undefined, label: string) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) ? "—" : `${round(a / b, 2)} × ${label}`;

function med(scenarios: Scenarios, key: string, field: string): number | undefined {
  const outcome = scenarios[key];
  return outcome && "median" in outcome ? outcome.median[field] : undefined;
}

function why(scenarios: Scenarios, key: string): string | null {
  const outcome = scenarios[key];
  if (outcome === undefined) return "not run";
  if ("error" in outcome) return `failed: ${outcome.error.split("\n")[0]}`;
  return null;
}

/** Median of a per-run map (S5's ms per not-due size, S2's per-rate latencies). */
function medianOf<T>(scenarios: Scenarios, key: string, pick: (run: T) => number | undefined): number | undefined {
  const outcome = scenarios[key];
  if (!outcome || !("runs" in outcome)) return undefined;
  const values = (outcome.runs as T[]).map(pick).filter((v): v is number => v !== undefined && !Number.isNaN(v));
  return values.length === 0 ? undefined : median(values);
}

interface S2Rate {
  label: string;
  ratePerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  producerLagP99Ms: number;
  received: number;
  produced: number;
}
interface S2Run {
  rates: S2Rate[];
  kafkaAlone: S2Rate;
  cpuUsPerDelivery: number;
}
interface S2aRate extends S2Rate {
  commitToReceiptP50Ms: number;
  commitToReceiptP99Ms: number;
  cpuUsPerDelivery: number;
  postgresCpuUsPerDelivery: number;
  producerCpuUsPerEvent: number;
}
interface S2aRun {
  rates: S2aRate[];
}
interface S6Run {
  rows: number;
  msByShape: Record<string, { p50: number; p99: number }>;
}

interface S5Run {
  medianMsByNotDue: Record<string, number>;
  explain: string;
}

function ratioTarget(measure: string, target: string, a: number | undefined, b: number | undefined, atLeast: number): Target {
  if (a === undefined || b === undefined) return { measure, target, measured: "not measured", pass: null };
  const ratio = a / b;
  return { measure, target, measured: round(ratio, 2).toString(), pass: ratio >= atLeast };
}

export function targetsOf(s: Scenarios): Target[] {
  const s0 = med(s, "s0", "eventsPerSecond");
  const s1a = med(s, "s1a", "eventsPerSecond");
  const s1b = med(s, "s1b", "eventsPerSecond");
  const p99 = medianOf<S2Run>(s, "s2", (run) => run.rates.find((r) => r.label === "1000/s")?.p99Ms);
  const outboxP99 = medianOf<S2aRun>(s, "s2a", (run) => run.rates.find((r) => r.label === "1000/s")?.p99Ms);
  const outboxProblem = why(s, "s2a");
  const growth = med(s, "s4", "growthBytes");
  const claimRatio = med(s, "s5", "ratio");
  return [
    ratioTarget("S1(a) / S0", "≥ 0.35", s1a, s0, 0.35),
    ratioTarget("S1(b) / S0", "≥ 0.35", s1b, s0, 0.35),
    ...baselineTargets(s, s1a),
    p99 === undefined
      ? { measure: "S2 p99 at 1,000/s", target: "≤ 20 ms", measured: "not measured", pass: null }
      : { measure: "S2 p99 at 1,000/s", target: "≤ 20 ms", measured: `${round(p99, 1)} ms`, pass: p99 <= 20 },
    // A run that failed (an event never arrived) fails the target rather than going unmeasured.
    outboxP99 === undefined
      ? { measure: "S2(a) outbox streaming at 1,000/s: p99 scheduled → receipt", target: "≤ 20 ms", measured: outboxProblem ?? "not measured", pass: outboxProblem === null || outboxProblem === "not run" ? null : false }
      : { measure: "S2(a) outbox streaming at 1,000/s: p99 scheduled → receipt", target: "≤ 20 ms", measured: `${round(outboxP99, 1)} ms`, pass: outboxP99 <= 20 },
    ratioTarget("S3 healthy throughput / S1(b) (faults on another origin)", "≥ 0.9", med(s, "s3", "eventsPerSecond"), s1b, 0.9),
    growth === undefined
      ? { measure: "S4 RSS growth over idle", target: "≤ 20 MB", measured: "not measured", pass: null }
      : { measure: "S4 RSS growth over idle", target: "≤ 20 MB", measured: `${round(growth / 1e6, 1)} MB`, pass: growth <= 20e6 },
    ...kafkaBacklogTargets(s),
    claimRatio === undefined
      ? { measure: "S5 claim at 1,000,000 not due / at 0", target: "≤ 2", measured: "not measured", pass: null }
      : { measure: "S5 claim at 1,000,000 not due / at 0", target: "≤ 2", measured: claimRatio.toString(), pass: claimRatio <= 2 },
  ];
}

/**
 * S1(a) against the baselines at concurrency 64: B1 is the better of graphile-worker's two
 * concurrency-64 settings (concurrency 1 is a row, not a target), B2 BullMQ with Redis's AOF on.
 */
function baselineTargets(s: Scenarios, s1a: number | undefined): Target[] {
  const measured = (["b1default64", "b1batched"] as const)
    .map((key) => ({ key, rate: med(s, key, "eventsPerSecond") }))
    .filter((b): b is { key: "b1default64" | "b1batched"; rate: number } => b.rate !== undefined);
  const better = measured.sort((a, b) => b.rate - a.rate)[0];
  const b1Label = better === undefined
    ? "S1(a) / B1, graphile-worker at concurrency 64 (the better of b1default64 and b1batched)"
    : `S1(a) / B1, graphile-worker at concurrency 64, the better setting: ${better.key} (${num(s1a)} / ${num(better.rate)} events/s${measured.length < 2 ? "; the other setting not measured" : ""})`;
  const b2 = med(s, "b2aof", "eventsPerSecond");
  return [
    ratioTarget(b1Label, "≥ 2", s1a, better?.rate, 2),
    ratioTarget(`S1(a) / B2, BullMQ at concurrency 64 on Redis with AOF everysec (${num(s1a)} / ${num(b2)} events/s)`, "≥ 1", s1a, b2, 1),
  ];
}

/**
 * S4(b): peak RSS growth between the two backlogs, and whether the capped drain finished. A
 * scenario that failed (a crash, an event missing) fails its target rather than going unmeasured.
 */
function kafkaBacklogTargets(s: Scenarios): Target[] {
  const growth = med(s, "s4b", "growthBytes");
  const growthProblem = why(s, "s4b");
  const capProblem = why(s, "s4b160");
  const failed = (problem: string | null) => problem !== null && problem !== "not run";
  return [
    growth === undefined
      ? { measure: "S4(b) peak RSS growth, Kafka backlog", target: "≤ 20 MB", measured: growthProblem ?? "not measured", pass: failed(growthProblem) ? false : null }
      : {
          measure: `S4(b) peak RSS growth, Kafka backlog of ${num(med(s, "s4b", "smallEvents"))} → ${num(med(s, "s4b", "largeEvents"))}`,
          target: "≤ 20 MB",
          measured: `${round(growth / 1e6, 1)} MB`,
          pass: growth <= 20e6,
        },
    {
      measure: "S4(b) Kafka backlog with a 160 MB heap",
      target: "drained, every event once",
      measured:
        capProblem ??
        `${num(med(s, "s4b160", "events"))} events in ${num((med(s, "s4b160", "drainMs") ?? NaN) / 1000, 1)} s, peak RSS ${mib(med(s, "s4b160", "peakRssBytes"))}`,
      pass: capProblem === "not run" ? null : !failed(capProblem),
    },
  ];
}

/** S2's rows for one variant (`suffix` names its level): each rate, then the Kafka-alone floor measured with it; or its failure. */
function latencyRows(s: Scenarios, key: "s2" | "s2info", suffix: string): string[] {
  const problem = why(s, key);
  if (problem !== null) return [`| S2${suffix} | ${problem} | | | | | |`];
  const runs = (s[key] as { runs: S2Run[] }).runs;
  const rows = (runs[0]?.rates ?? []).map(({ label }) => {
    const pick = (f: "p50Ms" | "p99Ms" | "maxMs" | "producerLagP99Ms") => num(medianOf<S2Run>(s, key, (run) => run.rates.find((r) => r.label === label)?.[f]), 1);
    const perRun = runs.map((run) => run.rates.find((r) => r.label === label)!);
    const counts = `${num(median(perRun.map((r) => r.received)))} / ${num(median(perRun.map((r) => r.produced)))}`;
    return `| ${label}${suffix} | ${num(median(perRun.map((r) => r.ratePerSecond)))} | ${counts} | ${pick("p50Ms")} | ${pick("p99Ms")} | ${pick("maxMs")} | ${pick("producerLagP99Ms")} |`;
  });
  const alone = (f: keyof S2Run["kafkaAlone"]) => num(medianOf<S2Run>(s, key, (run) => run.kafkaAlone[f] as number), 1);
  const aloneName = `Kafka alone (no dispatcher), 1000/s${suffix === "" ? "" : `, measured with S2${suffix}`}`;
  rows.push(`| ${aloneName} | 1,000 | ${alone("received")} / ${alone("produced")} | ${alone("p50Ms")} | ${alone("p99Ms")} | ${alone("maxMs")} | ${alone("producerLagP99Ms")} |`);
  return rows;
}

/** S2 at the run's level, and beside it S2 at LOG_LEVEL=info when s2info ran: latencies per rate, then the dispatcher's CPU per delivery. */
function latencyLines(s: Scenarios): string[] {
  const lines = ["", "**S2 latency**, scheduled → receipt, open loop from Kafka:", ""];
  const withInfo = s.s2info !== undefined;
  const problem = why(s, "s2");
  if (problem !== null && !withInfo) return [...lines, problem];
  lines.push("| rate | events/s | received / produced | p50 ms | p99 ms | max ms | producer lag p99 ms |", "|---|---:|---:|---:|---:|---:|---:|");
  lines.push(...latencyRows(s, "s2", ""));
  if (withInfo) lines.push(...latencyRows(s, "s2info", ", LOG_LEVEL=info"));
  const cpu = (key: string) => medianOf<S2Run>(s, key, (run) => run.cpuUsPerDelivery);
  const atInfo = withInfo ? `; at LOG_LEVEL=info ${num(cpu("s2info"))} µs (${times(cpu("s2info"), cpu("s2"), "S2's")})` : "";
  lines.push("", `Dispatcher CPU over all rates: ${num(cpu("s2"))} µs per delivery${atInfo}.`);
  return lines;
}

/** S2(a): one row per rate, the latencies from the schedule, then commit → receipt and the CPU per delivery. */
function outboxLatencyLines(s: Scenarios): string[] {
  const lines = ["", "**S2(a) outbox streaming**, scheduled → receipt, open loop: another process commits one outbox row per event, jobs on 8 receiver origins:", ""];
  const problem = why(s, "s2a");
  if (problem !== null) return [...lines, problem];
  lines.push(
    "| rate | received / produced | p50 ms | p99 ms | max ms | commit → receipt p50 / p99 ms | producer lag p99 ms | CPU µs/delivery: dispatcher / Postgres backends / producer |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  const runs = (s.s2a as { runs: S2aRun[] }).runs;
  for (const label of (runs[0]?.rates ?? []).map((r) => r.label)) {
    const pick = (f: keyof S2aRate, digits = 1) => num(medianOf<S2aRun>(s, "s2a", (run) => run.rates.find((r) => r.label === label)?.[f] as number), digits);
    lines.push(
      `| ${label} | ${pick("received", 0)} / ${pick("produced", 0)} | ${pick("p50Ms")} | ${pick("p99Ms")} | ${pick("maxMs")} | ` +
        `${pick("commitToReceiptP50Ms")} / ${pick("commitToReceiptP99Ms")} | ${pick("producerLagP99Ms")} | ` +
        `${pick("cpuUsPerDelivery", 0)} / ${pick("postgresCpuUsPerDelivery", 0)} / ${pick("producerCpuUsPerEvent", 0)} |`,
    );
  }
  return lines;
}

function throughputRow(s: Scenarios, key: string, name: string, base: { key: string; label: string } | null, notes: (m: (f: string) => number | undefined) => string): string {
  const problem = why(s, key);
  if (problem !== null) return `| ${name} | ${problem} | | | | |`;
  const m = (field: string) => med(s, key, field);
  const rate = m("eventsPerSecond") ?? m("healthyEventsPerSecond");
  const ratio = base === null ? "—" : times(rate, med(s, base.key, "eventsPerSecond"), base.label);
  return `| ${name} | ${num(rate)} | ${ratio} | ${num(m("cpuUsPerDelivery"), 1)} | ${mib(m("peakRssBytes"))} | ${notes(m)} |`;
}

interface BullmqRun {
  redisVersion?: string;
  appendonly?: string;
  appendfsync?: string;
  save?: string;
}

/** How the run's Redis persisted, from what CONFIG GET said during B2's first run. */
function redisPersistence(s: Scenarios, key: string): string {
  const outcome = s[key];
  const run = outcome && "runs" in outcome ? (outcome.runs[0] as BullmqRun | undefined) : undefined;
  if (run?.appendonly === undefined) return "Redis";
  const rdb = run.save === "" ? 'no RDB snapshots (save "")' : `RDB snapshots (save "${run.save}")`;
  return run.appendonly === "no"
    ? `Redis ${run.redisVersion} without AOF (appendonly no), ${rdb}`
    : `Redis ${run.redisVersion} with AOF (appendonly yes, appendfsync ${run.appendfsync}), ${rdb}`;
}

/** B1 and B2, each named with its library, version and settings (recorded by bench/run.ts). */
function baselineRows(results: Results): string[] {
  const s = results.scenarios;
  const settings = (results.settings.baselines ?? {}) as Record<string, string>;
  const named = (key: string, fallback: string) => settings[key] ?? fallback;
  const s0 = { key: "s0", label: "S0" };
  const b1Notes = (m: (f: string) => number | undefined) =>
    `${num((m("drainMs") ?? 0) / 1000, 1)} s drain; Postgres backends ${num(m("postgresCpuUsPerDelivery"))} µs CPU/job`;
  const b2Notes = (m: (f: string) => number | undefined) =>
    `${b1Notes(m)}; redis-server ${num(m("redisCpuUsPerDelivery"))} µs CPU/job (forks included), ` +
    `${num(m("redisCommandsPerDelivery"), 1)} commands/job, RSS ${mib(m("redisRssBytes"))} with the backlog; AOF rewrites during the drain: ${num(m("aofRewrites"))}`;
  return [
    throughputRow(s, "b1default", `B1 ${named("b1default", "graphile-worker, default settings (concurrency 1)")} — not a target`, s0, b1Notes),
    throughputRow(s, "b1default64", `B1 ${named("b1default64", "graphile-worker, concurrency 64")}`, s0, b1Notes),
    throughputRow(s, "b1batched", `B1 ${named("b1batched", "graphile-worker, batched settings")}`, s0, b1Notes),
    throughputRow(s, "b2", `B2 ${named("b2", "BullMQ")}; ${redisPersistence(s, "b2")}`, s0, b2Notes),
    throughputRow(s, "b2aof", `B2 ${named("b2aof", "BullMQ")}; ${redisPersistence(s, "b2aof")}`, s0, b2Notes),
  ];
}

/** The run's LOG_LEVEL, which every scenario has but s1ainfo and s2info: those state their own. */
function levelSentence(results: Results): string {
  const level = String(results.settings.logLevel ?? "warn");
  const s = results.scenarios;
  if (s.s1ainfo === undefined && s.s2info === undefined) return `LOG_LEVEL=${level}.`;
  return level === "info" ? "LOG_LEVEL=info, the rows marked LOG_LEVEL=info too." : `LOG_LEVEL=${level}, except the rows marked LOG_LEVEL=info.`;
}

/**
 * S1(a) and S2 at LOG_LEVEL=info against the run's level: informational, not targets (the targets
 * are measured at the run's level). Nothing when neither info scenario was asked for.
 */
function logLevelLines(results: Results): string[] {
  const s = results.scenarios;
  if (s.s1ainfo === undefined && s.s2info === undefined) return [];
  const level = String(results.settings.logLevel ?? "warn");
  const against = (a: number | undefined, b: number | undefined, unit: string, digits = 0) =>
    a === undefined || b === undefined ? "not measured" : `${round(a / b, 2)} (${num(a, digits)} / ${num(b, digits)} ${unit})`;
  const p99 = (key: string) => medianOf<S2Run>(s, key, (run) => run.rates.find((r) => r.label === "1000/s")?.p99Ms);
  const s2Cpu = (key: string) => medianOf<S2Run>(s, key, (run) => run.cpuUsPerDelivery);
  const [infoP99, runP99] = [p99("s2info"), p99("s2")];
  const s2P99 =
    infoP99 === undefined ? "not measured"
    : runP99 === undefined ? `${round(infoP99, 1)} ms (at ${level} not measured)`
    : `${round(infoP99, 1)} ms (at ${level} ${round(runP99, 1)} ms: ${round(infoP99 / runP99, 2)} ×)`;
  const rows: Array<[string, string]> = [
    [`S1(a) at LOG_LEVEL=info / at ${level}, events/s`, why(s, "s1ainfo") ?? against(med(s, "s1ainfo", "eventsPerSecond"), med(s, "s1a", "eventsPerSecond"), "events/s")],
    [`S1(a) at LOG_LEVEL=info / at ${level}, dispatcher CPU per delivery`, why(s, "s1ainfo") ?? against(med(s, "s1ainfo", "cpuUsPerDelivery"), med(s, "s1a", "cpuUsPerDelivery"), "µs", 1)],
    ["S2 p99 at 1,000/s, LOG_LEVEL=info (S2's target: ≤ 20 ms)", why(s, "s2info") ?? s2P99],
    [`S2 at LOG_LEVEL=info / at ${level}, dispatcher CPU per delivery over all rates`, why(s, "s2info") ?? against(s2Cpu("s2info"), s2Cpu("s2"), "µs")],
  ];
  const lines = ["", `**LOG_LEVEL=info beside ${level}** (informational, not targets):`, ""];
  if (level === "info") lines.push("BENCH_LOG_LEVEL=info: S1(a) and S2 ran at info too, so each ratio compares two measurements of the same level.", "");
  lines.push("| measure | measured |", "|---|---|", ...rows.map(([measure, measured]) => `| ${measure} | ${measured} |`));
  return lines;
}

/** S4 and S4(b): the dispatcher's memory with work pending hours away, and draining a Kafka backlog. */
function memoryLines(s: Scenarios): string[] {
  const lines: string[] = [];
  lines.push("", "**S4 memory** (RSS, median of 30–40 s after ready):", "");
  const s4problem = why(s, "s4");
  if (s4problem !== null) lines.push(s4problem);
  else {
    lines.push(
      `idle, empty database ${mib(med(s, "s4", "idleRssBytes"))}; with ${num(med(s, "s4", "pendingRows"))} pending deliveries due in 3 h ` +
        `${mib(med(s, "s4", "loadedRssBytes"))} (peak ${mib(med(s, "s4", "loadedPeakRssBytes"))}); growth ${num((med(s, "s4", "growthBytes") ?? NaN) / 1e6, 1)} MB.`,
    );
  }

  lines.push("", "**S4(b) memory, Kafka backlog** (peak RSS of a dispatcher draining a gzip backlog on 4 partitions to 8 receiver origins, median):", "");
  const s4bProblem = why(s, "s4b");
  if (s4bProblem !== null) lines.push(`S4(b): ${s4bProblem}`);
  else {
    lines.push(
      `${num(med(s, "s4b", "smallEvents"))} events ${mib(med(s, "s4b", "smallPeakRssBytes"))} (drained in ${num((med(s, "s4b", "smallDrainMs") ?? NaN) / 1000, 1)} s); ` +
        `${num(med(s, "s4b", "largeEvents"))} events ${mib(med(s, "s4b", "largePeakRssBytes"))} (drained in ${num((med(s, "s4b", "largeDrainMs") ?? NaN) / 1000, 1)} s); ` +
        `growth ${num((med(s, "s4b", "growthBytes") ?? NaN) / 1e6, 1)} MB.`,
    );
  }
  const s4b160Problem = why(s, "s4b160");
  lines.push(
    "",
    s4b160Problem !== null
      ? `With a 160 MB heap (--max-old-space-size=160): ${s4b160Problem}`
      : `With a 160 MB heap (--max-old-space-size=160), ${num(med(s, "s4b160", "events"))} events: every one delivered once, in ` +
          `${num((med(s, "s4b160", "drainMs") ?? NaN) / 1000, 1)} s (${num(med(s, "s4b160", "eventsPerSecond"))}/s), peak RSS ${mib(med(s, "s4b160", "peakRssBytes"))}.`,
  );
  return lines;
}

/** S5 and S6: what the claim and the list queries cost with many rows in the table. */
function claimAndListLines(s: Scenarios): string[] {
  const lines: string[] = [];
  lines.push("", "**S5 claim cost** (one claim of 64 due rows, median ms):", "");
  const s5problem = why(s, "s5");
  if (s5problem !== null) lines.push(s5problem);
  else {
    const sizes = Object.keys((s.s5 as { runs: S5Run[] }).runs[0]?.medianMsByNotDue ?? {});
    lines.push(`| not-due rows | ${sizes.map((n) => Number(n).toLocaleString("en-US")).join(" | ")} |`, `|---|${sizes.map(() => "---:").join("|")}|`);
    lines.push(`| ms | ${sizes.map((n) => num(medianOf<S5Run>(s, "s5", (run) => run.medianMsByNotDue[n]), 3)).join(" | ")} |`);
    lines.push("", "EXPLAIN (ANALYZE, BUFFERS) of the claim at the largest size (first run) is in the JSON file (`scenarios.s5.runs[0].explain`).");
  }

  const s6problem = why(s, "s6");
  if (s6problem !== null || s.s6 !== undefined) lines.push("", "**S6 finding deliveries** (one filtered page of 50 of `GET /v1/deliveries`, the adapter's statement, ms; median of the runs):", "");
  if (s6problem !== null) lines.push(s6problem);
  else if (s.s6 !== undefined) {
    const runs = (s.s6 as { runs: S6Run[] }).runs;
    lines.push(`Over ${num(runs[0]?.rows ?? NaN)} deliveries.`, "", "| query | p50 | p99 |", "|---|---:|---:|");
    for (const shape of Object.keys(runs[0]?.msByShape ?? {})) {
      const pick = (q: "p50" | "p99") => num(medianOf<S6Run>(s, "s6", (run) => run.msByShape[shape]?.[q]), 2);
      lines.push(`| ${shape} | ${pick("p50")} | ${pick("p99")} |`);
    }
    lines.push("", "EXPLAIN (ANALYZE, BUFFERS) of the slowest query of the worst shape is in the JSON file (`scenarios.s6.runs[0].explain`).");
  }
  return lines;
}

/** S7, when it ran: intake over HTTP, one event per request against batches. */
function intakeLines(s: Scenarios): string[] {
  const lines: string[] = [];
  const s7problem = why(s, "s7");
  if (s.s7 !== undefined) {
    lines.push("", "**S7 intake over HTTP** (`POST /v1/events` accepted, events/s, median):", "");
    if (s7problem !== null) lines.push(s7problem);
    else lines.push(`${num(med(s, "s7", "events"))} events: ${num(med(s, "s7", "singleEventsPerSecond"))}/s one event per request (64 clients), ${num(med(s, "s7", "batchedEventsPerSecond"))}/s in batches of 500 (8 clients): ${num(med(s, "s7", "ratio"), 2)}×.`);
  }
  return lines;
}

/** What the receiver saw across every scenario: signature failures, and deliveries that waited for a retry. */
function receiverCheckLines(s: Scenarios): string[] {
  const lines: string[] = [];
  const failures = Object.values(s).reduce((sum, o) => sum + ("runs" in o ? (o.runs as Array<{ signatureFailures?: number }>).reduce((a, r) => a + (r.signatureFailures ?? 0), 0) : 0), 0);
  lines.push("", `Signature verification failures at the receiver, all scenarios: ${failures}.`);
  const retried = Object.entries(s).flatMap(([key, o]) =>
    "runs" in o
      ? (o.runs as Array<{ retriedAfterError?: number; retryErrors?: readonly string[] }>)
          .filter((r) => (r.retriedAfterError ?? 0) > 0)
          .map((r) => `${key}: ${r.retriedAfterError} (${(r.retryErrors ?? []).join("; ")})`)
      : [],
  );
  lines.push(
    "",
    retried.length === 0
      ? "Healthy deliveries that needed a retry after a failed attempt, all drains: 0."
      : `Healthy deliveries that needed a retry after a failed attempt (counted as drained at their first attempt): ${retried.join(", ")}.`,
  );
  return lines;
}

export function renderMarkdown(results: Results): string {
  const s = results.scenarios;
  const { events, runs } = results.settings as { events: number; runs: number };
  const lines: string[] = [];
  lines.push(`### Benchmark ${results.date} — ${events.toLocaleString("en-US")} events, median of ${runs} run(s) after a warm-up`);
  lines.push("", `${String(results.machine.cpus)} cores (${String(results.machine.cpuModel)}), ${String(results.machine.memoryGiB)} GiB, Node ${String(results.machine.node)}. DISPATCH_CONCURRENCY=64; S1 and S2 have one receiver origin, so WEBHOOK_MAX_PER_DESTINATION=${String(results.settings.singleReceiverMaxPerDestination)} there (S2(a) has eight, at the default 16); ${levelSentence(results)}`, "");
  lines.push("| scenario | events/s | ratio | CPU µs/delivery | peak RSS | notes |", "|---|---:|---:|---:|---:|---|");
  lines.push(throughputRow(s, "s0", "S0 limit: bare undici.request, 64 in flight", null, (m) => `sender = bench process; receiver ${num(m("receiverCpuUsPerRequest"), 1)} µs CPU/request`));
  const drainNotes = (m: (f: string) => number | undefined) =>
    `${num((m("drainMs") ?? 0) / 1000, 1)} s from ready, ${num((m("drainMsFromSpawn") ?? 0) / 1000, 1)} s from spawn; first→last receipt ${num(m("steadyEventsPerSecond"))}/s; ` +
    `Postgres backends ${num(m("postgresCpuUsPerDelivery"))} µs, receiver ${num(m("receiverCpuUsPerRequest"))} µs CPU/delivery`;
  lines.push(throughputRow(s, "s1a", "S1(a) outbox backlog → sent", { key: "s0", label: "S0" }, drainNotes));
  lines.push(throughputRow(s, "s1ainfo", "S1(a) at LOG_LEVEL=info (a line per attempt)", { key: "s1a", label: "S1(a)" }, (m) =>
    `CPU/delivery ${times(m("cpuUsPerDelivery"), med(s, "s1a", "cpuUsPerDelivery"), "S1(a)'s")}; ${drainNotes(m)}`));
  lines.push(throughputRow(s, "s1b", "S1(b) Kafka backlog (4 partitions) → sent", { key: "s0", label: "S0" }, drainNotes));
  lines.push(throughputRow(s, "s1e", "S1(e) outbox backlog on the embedded PGlite (no DATABASE_URL)", { key: "s1a", label: "S1(a)" }, (m) =>
    `${num(m("events"))} events, ${num((m("drainMs") ?? 0) / 1000, 1)} s from ready to the last receipt; first→last receipt ${num(m("steadyEventsPerSecond"))}/s; CPU includes PGlite's`));
  lines.push(throughputRow(s, "s3", "S3 healthy 80%, hang+500 on another origin (limit 16)", { key: "s1b", label: "S1(b)" }, drainNotes));
  lines.push(throughputRow(s, "s1b16", "S1(b) at limit 16, no faults (control for S3)", { key: "s1b", label: "S1(b)" }, drainNotes));
  lines.push(throughputRow(s, "s3same", "S3 healthy 80%, hang+500 on the same origin (limit 64)", { key: "s1b", label: "S1(b)" }, (m) => `healthy sent in a ${num((m("windowMs") ?? 0) / 1000)} s window: ${num(m("healthySent"))}`));
  lines.push(...baselineRows(results));

  lines.push(...latencyLines(s));
  lines.push(...outboxLatencyLines(s));

  lines.push(...memoryLines(s));
  lines.push(...claimAndListLines(s));
  lines.push(...intakeLines(s));
  lines.push(...receiverCheckLines(s));

  lines.push("", "**Targets** (ratios measured in this run):", "", "| measure | target | measured | result |", "|---|---|---|---|");
  for (const t of results.targets ?? targetsOf(s)) {
    lines.push(`| ${t.measure} | ${t.target} | ${t.measured} | ${t.pass === null ? "—" : t.pass ? "pass" : "**fail**"} |`);
  }
  lines.push(...logLevelLines(results));
  return lines.join("\n") + "\n";
}
