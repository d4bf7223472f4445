/**
 * S0, the HTTP limit of this machine: a bare undici.request loop in the benchmark process,
 * 64 at a time over a keep-alive Agent with 64 connections, POSTing signed bodies of the same
 * size to the same receiver (which verifies every signature). No database, no queue: what is
 * left when everything but the HTTP exchange is taken away.
 */
import { randomUUID } from "node:crypto";
import { Agent, request } from "undici";
import { repeat, type BenchContext } from "../drain.ts";
import { signedHeaders, webhookBody } from "../payload.ts";
import type { Scope } from "../scope.ts";
import { round } from "../stats.ts";

export const CONCURRENCY = 64;

export interface LimitResult {
  readonly events: number;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  /** CPU of the benchmark process (the sender), per request, µs. */
  readonly cpuUsPerDelivery: number;
  readonly receiverCpuUsPerRequest: number;
  readonly signatureFailures: number;
  readonly non200: number;
}

export async function runLimit(ctx: BenchContext): Promise<LimitResult[]> {
  return repeat(
    ctx,
    "S0 limit",
    60_000 + ctx.events * 2,
    (scope, kind) => postAll(ctx, kind === "warm-up" ? Math.min(ctx.events, 5_000) : ctx.events, scope),
    (r) => `${r.eventsPerSecond} requests/s, ${r.cpuUsPerDelivery} µs CPU/request`,
  );
}

async function postAll(ctx: BenchContext, events: number, scope: Scope): Promise<LimitResult> {
  await ctx.receiver.reset();
  const agent = new Agent({ connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 4_000 });
  const url = `${ctx.receiver.url}/ok`;
  const finishedAt = new Date();
  let next = 0;
  let non200 = 0;
  const worker = async () => {
    while (next < events && !scope.signal.aborted) {
      next++;
      // A fresh job id and signature per request, as the dispatcher sends them.
      const jobId = randomUUID();
      const body = webhookBody(jobId, finishedAt);
      const headers = signedHeaders(ctx.secret, `msg_${jobId.replaceAll("-", "")}`, body);
      const response = await request(url, { method: "POST", headers, body, dispatcher: agent });
      await response.body.dump();
      if (response.statusCode !== 200) non200++;
    }
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await agent.close();
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const stats = await ctx.receiver.stats();
  return {
    events,
    elapsedMs: round(elapsedMs),
    eventsPerSecond: round(events / (elapsedMs / 1000)),
    cpuUsPerDelivery: round((cpu.user + cpu.system) / events, 1),
    receiverCpuUsPerRequest: round(stats.cpuMicros / events, 1),
    signatureFailures: stats.signatureFailures,
    non200,
  };
}
