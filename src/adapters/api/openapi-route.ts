/**
 * How a route of the admin API is declared: once, as a `createRoute(...)` definition whose zod
 * schemas describe its parameters, body and every answer. The same definition adds the route to
 * the app and to the OpenAPI document, and its path and query schemas validate the request.
 */
import { OpenAPIHono, type RouteConfig, type RouteHandler, type RouteHook } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ZodError, ZodType } from "zod";
import { Problem, problem } from "./problem.ts";

/** An app (or sub-app) of the admin API: answers a request that fails its schemas with the one error shape. */
export function newApiApp(): OpenAPIHono {
  return new OpenAPIHono({ defaultHook: (result, c) => (result.success ? undefined : invalidParameter(c, result.error)) });
}

/** 400 `invalid_parameter` naming the first parameter that failed its schema: `limit: must be ...`. */
function invalidParameter(c: Context, error: ZodError): Response {
  const issue = error.issues[0];
  const name = issue === undefined ? "request" : issue.path.length > 0 ? issue.path.map(String).join(".") : "request";
  return problem(c, 400, "invalid_parameter", `${name}: ${issue?.message ?? "invalid"}`);
}

export interface AddRouteOptions<R extends RouteConfig> {
  /** Answers a request whose path or query fails the route's schemas; by default 400 `invalid_parameter`. */
  readonly hook?: RouteHook<R>;
  /**
   * The query is described by `route.request.query` but parsed by the handler, for rules a schema
   * cannot say well (unknown or repeated parameters, opaque cursors). The schema must still be
   * true to what the parser accepts.
   */
  readonly queryParsedByHandler?: boolean;
}

/** The handler of `route`: its context knows the validated params (`c.req.valid("param")`). */
export type ApiHandler<R extends RouteConfig> = (c: Parameters<RouteHandler<R>>[0]) => Response | Promise<Response>;

/**
 * Adds `route` to `app` and to its document. Path parameters (and the query, unless the handler
 * parses it) are validated by the route's schemas before `handler` runs. A body is only described:
 * the handler reads it (`readJsonBody`), so that a body is taken whatever its content type, as
 * before the document existed, and each route keeps its own error code for a bad one.
 */
export function addRoute<R extends RouteConfig>(app: OpenAPIHono, route: R, handler: ApiHandler<R>, options: AddRouteOptions<R> = {}): void {
  app.openAPIRegistry.registerPath(route);
  const { body: _describedOnly, ...request } = route.request ?? {};
  const validated = { ...request, ...(options.queryParsedByHandler ? { query: undefined } : {}) };
  // The route is already in the document, with its body; `hide` keeps this copy out of it.
  // The handler answers plain Responses, checked against the declared schemas by the API tests.
  const untyped = app.openapi as (route: RouteConfig, handler: unknown, hook?: unknown) => unknown;
  untyped({ ...route, request: validated, hide: true }, handler, options.hook);
}

/** A JSON answer of `schema`, for a route's `responses`. */
export const jsonResponse = <T extends ZodType>(description: string, schema: T) => ({ description, content: { "application/json": { schema } } });

/** A JSON answer in the error shape, for a route's `responses`. */
export const problemResponse = (description: string) => ({ description, content: { "application/json": { schema: Problem } } });

/** The name of the bearer scheme in the document's `components.securitySchemes`. */
export const BEARER = "bearerAuth";

/** The answers every `/v1` route may give besides its own: the token is missing or wrong, or the server failed. */
export function v1Responses<T extends Record<number, { description: string }>>(own: T) {
  const malformedAuth = "`bad_request`: a malformed Authorization header";
  const own400 = (own as Record<number, { description: string }>)[400];
  return {
    ...own,
    400: own400 === undefined ? problemResponse(malformedAuth) : { ...own400, description: `${own400.description}; or ${malformedAuth}` },
    401: problemResponse("`unauthorized`: no bearer token, a wrong one, or ADMIN_TOKEN is not set (then every `/v1` call answers 401)"),
    500: problemResponse("`internal_error`: the request could not be completed (e.g. the database failed); the cause is in the dispatcher's log"),
  };
}

/** The body read as JSON: `empty` when there is none, or why it is not JSON. */
export async function readJsonBody(c: Context, options: { empty?: unknown } = {}): Promise<{ ok: true; value: unknown } | { ok: false; message: string }> {
  const text = await c.req.text();
  if (options.empty !== undefined && text.trim() === "") return { ok: true, value: options.empty };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : "the body is not JSON" };
  }
}
