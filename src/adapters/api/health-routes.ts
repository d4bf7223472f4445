import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { Database } from "../../ports/database.ts";
import type { SourceReadiness } from "../../ports/event-source.ts";
import { addRoute } from "./openapi-route.ts";

interface HealthDeps {
  readonly db: Database;
  /** Readiness of each event source. */
  readonly sources: () => readonly (SourceReadiness & { readonly name: string })[];
}

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["health"],
  summary: "Liveness: 200 while the process runs",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["health"],
  summary: "Readiness: the database answers and every input is ready",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: z.object({ status: z.literal("ready") }) } } },
    503: {
      description: "Not ready, with the reasons",
      content: { "application/json": { schema: z.object({ status: z.literal("not_ready"), reasons: z.array(z.string()).min(1) }) } },
    },
  },
});

/** `/healthz` and `/readyz`: no token needed. */
export function addHealthRoutes(app: OpenAPIHono, deps: HealthDeps): void {
  addRoute(app, healthz, (c) => c.json({ status: "ok" }));
  addRoute(app, readyz, async (c) => {
    const reasons: string[] = [];
    try {
      await deps.db.ping();
    } catch (error) {
      reasons.push(`database: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const source of deps.sources()) {
      if (!source.ready) reasons.push(source.reason ?? `${source.name}: not ready`);
    }
    return reasons.length === 0 ? c.json({ status: "ready" }) : c.json({ status: "not_ready", reasons }, 503);
  });
}
