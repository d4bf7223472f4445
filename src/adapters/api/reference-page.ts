/**
 * `GET /openapi.json` and the reference page `GET /docs`: Swagger UI, served from the
 * swagger-ui-dist package's own files so the page needs nothing outside the dispatcher.
 * Neither needs the token: they show the shape of the API, never its data.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

/** The files of swagger-ui-dist the page loads, by the name it loads them under `/docs/`. */
const PACKAGE_ASSETS: Readonly<Record<string, string>> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>stories-dispatcher admin API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// validatorUrl null: Swagger UI would otherwise send the document to validator.swagger.io for a badge.
const INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true, persistAuthorization: false });\n`;

/** Adds `/openapi.json` (the document `describe` generates, once) and `/docs` with its assets to `app`. */
export function addReferencePage(app: OpenAPIHono, describe: () => OpenApiDocument): void {
  let document: OpenApiDocument | undefined;
  app.get("/openapi.json", (c) => c.json((document ??= describe())));
  app.get("/docs", (c) => c.html(PAGE));
  app.get("/docs/init.js", (c) => c.body(INIT, 200, { "content-type": "text/javascript; charset=utf-8" }));
  const readAsset = packageAssetReader();
  app.get("/docs/:asset", async (c) => {
    const name = c.req.param("asset");
    const type = Object.hasOwn(PACKAGE_ASSETS, name) ? PACKAGE_ASSETS[name] : undefined;
    if (type === undefined) return c.json({ error: "not_found", message: `no file ${JSON.stringify(name)} here` }, 404);
    return c.body(await readAsset(name), 200, { "content-type": type, "cache-control": "public, max-age=3600" });
  });
}

/** Reads a file of swagger-ui-dist on first use and keeps it; found through the module resolver, so on Node and Deno alike. */
function packageAssetReader(): (name: string) => Promise<Uint8Array<ArrayBuffer>> {
  const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();
  return (name) => {
    let file = cache.get(name);
    if (file === undefined) {
      const directory = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
      file = readFile(join(directory, name)).then((buffer) => new Uint8Array(buffer));
      file.catch(() => cache.delete(name));
      cache.set(name, file);
    }
    return file;
  };
}
