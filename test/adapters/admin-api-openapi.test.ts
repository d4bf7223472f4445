import { Validator, type SpecData } from "@seriousme/openapi-schema-validator";
import { describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

interface Operation {
  readonly security?: readonly Record<string, unknown>[];
  readonly parameters?: readonly { name: string; in: string }[];
}
interface Document {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

async function setup() {
  const db = createMemoryDatabase();
  const app = createAdminApi({ ...operatorParts(db), db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const response = await app.request("/openapi.json");
  expect(response.status).toBe(200);
  return { app, document: (await response.json()) as Document };
}

/** `GET /v1/deliveries/{id}` for every operation of the document. */
function documentedOperations(document: Document): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

const isReferenceRoute = (path: string) => path === "/openapi.json" || path === "/docs" || path.startsWith("/docs/");

describe("admin API, OpenAPI document", () => {
  it("is served at /openapi.json without a token and is a valid OpenAPI 3.1 document", async () => {
    const { document } = await setup();
    expect(document.openapi).toBe("3.1.0");
    const validator = new Validator();
    const result = await validator.validate(document as unknown as SpecData);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  });

  it("lists exactly the routes the app serves, both ways (the document and reference-page routes themselves excepted)", async () => {
    const { app, document } = await setup();
    const served = new Set(
      app.routes
        .filter((route) => route.method !== "ALL" && !isReferenceRoute(route.path))
        .map((route) => `${route.method} ${route.path.replace(/:([^/]+)/g, "{$1}")}`),
    );
    expect(new Set(documentedOperations(document))).toEqual(served);
    expect(served.size).toBeGreaterThanOrEqual(9);
  });

  it("declares the bearer scheme and requires it on every /v1 route, and on no other; /metrics takes its own token, optionally", async () => {
    const { document } = await setup();
    const schemes = document.components.securitySchemes;
    expect(schemes["bearerAuth"]).toMatchObject({ type: "http", scheme: "bearer" });
    expect(schemes["metricsToken"]).toMatchObject({ type: "http", scheme: "bearer" });
    for (const [path, item] of Object.entries(document.paths)) {
      for (const operation of Object.values(item)) {
        const expected = path.startsWith("/v1/") ? [{ bearerAuth: [] }] : path === "/metrics" ? [{ metricsToken: [] }, {}] : [];
        expect(operation.security ?? [], path).toEqual(expected);
      }
    }
  });

  it("documents the query parameters each list route's parser knows, no more and no fewer", async () => {
    const { app, document } = await setup();
    const lists = Object.entries(document.paths).filter(([, item]) => item.get?.parameters?.some((p) => p.in === "query"));
    expect(lists.map(([path]) => path).sort()).toEqual(["/v1/dead-letters", "/v1/deliveries"]);
    for (const [path, item] of lists) {
      // The parser's answer to an unknown parameter names every parameter it knows.
      const response = await app.request(`${path}?no_such_parameter=1`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const { message } = (await response.json()) as { message: string };
      const known = message.replace(/^.*; use /, "").split(", ");
      expect(item.get!.parameters!.filter((p) => p.in === "query").map((p) => p.name).sort(), path).toEqual(known.sort());
    }
  });
});

describe("admin API, reference page", () => {
  it("serves /docs without a token, and every script and style it loads from the dispatcher itself", async () => {
    const { app } = await setup();
    const page = await app.request("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await page.text();
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    const types: Record<string, RegExp> = { js: /^text\/javascript/, css: /^text\/css/, png: /^image\/png/ };
    for (const url of urls) {
      expect(url, "a local path, not another host").toMatch(/^\/docs\//);
      const asset = await app.request(url);
      expect(asset.status, url).toBe(200);
      expect(asset.headers.get("content-type"), url).toMatch(types[url.split(".").pop()!]!);
      expect((await asset.arrayBuffer()).byteLength, url).toBeGreaterThan(0);
    }
    const init = await (await app.request("/docs/init.js")).text();
    expect(init).toContain('url: "/openapi.json"');
    expect(init).not.toMatch(/https?:\/\//);
  });

  it("answers 404 in the error shape for a file of the package it does not serve", async () => {
    const { app } = await setup();
    for (const path of ["/docs/index.html", "/docs/..%2Fpackage.json", "/docs/swagger-ui.js.map"]) {
      const response = await app.request(path);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toHaveProperty("error", "not_found");
    }
  });
});
