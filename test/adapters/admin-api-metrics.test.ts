import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { createPrometheusMetrics } from "../../src/adapters/metrics/prometheus-metrics.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { bodyLimits, finishedJob } from "../support/app-fixtures.ts";
import { parseMetrics } from "../support/metrics-text.ts";
import { operatorParts } from "../support/operator-parts.ts";

const ADMIN_TOKEN = "admin-token-for-tests-0123";
const METRICS_TOKEN = "metrics-token-for-tests-456";

function setup(metricsToken: string | null) {
  const db = createMemoryDatabase();
  const metrics = createPrometheusMetrics({ logger: noopLogger });
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: ADMIN_TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {}, metrics, metricsToken });
  const get = (path: string, token?: string) => app.request(path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { db, app, get };
}

describe("admin API, /metrics", () => {
  it("serves the Prometheus text format without any token when METRICS_TOKEN is not set", async () => {
    const { get } = setup(null);
    const response = await get("/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parseMetrics(await response.text()).value("webhook_deliveries_total", { outcome: "sent" })).toBe(0);
  });

  it("asks for METRICS_TOKEN when it is set: 401 without it, with a wrong one or with the admin token; 200 with it", async () => {
    const { get } = setup(METRICS_TOKEN);
    for (const token of [undefined, "wrong-token-wrong-token", ADMIN_TOKEN]) {
      const response = await get("/metrics", token);
      expect(response.status, String(token)).toBe(401);
      expect(await response.json()).toMatchObject({ error: "unauthorized" });
    }
    expect((await get("/metrics", METRICS_TOKEN)).status).toBe(200);
    expect((await get("/v1/deliveries", METRICS_TOKEN)).status).toBe(401);
  });

  it("counts a delivery an operator cancels as failed, reason cancelled, once", async () => {
    const { db, app, get } = setup(null);
    const job = finishedJob();
    db.putJob(job);
    await db.transaction((tx) => acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx, [{ value: { job_id: job.id, event: "job.succeeded" }, origin: { source: "api" } }]));
    const [delivery] = await db.deliveries.listDeliveriesForJob(job.id);
    const cancel = () => app.request(`/v1/deliveries/${delivery!.id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect((await cancel()).status).toBe(200);
    expect((await cancel()).status).toBe(409);
    expect(parseMetrics(await (await get("/metrics")).text()).value("webhook_deliveries_total", { outcome: "failed", reason: "cancelled" })).toBe(1);
  });
});
