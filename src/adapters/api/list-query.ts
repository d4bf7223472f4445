/**
 * What the list endpoints' query strings share: each parameter at most once, unknown ones
 * refused (a misspelt filter must not silently list everything), RFC 3339 times, a page size,
 * and an opaque keyset cursor. The parsers validate; the schemas here describe the same rules
 * for the OpenAPI document.
 */
import { z } from "@hono/zod-openapi";

/** What was wrong with one query parameter, for a 400 that names it. */
export interface QueryProblem {
  readonly parameter: string;
  readonly message: string;
}

/** A page: at most `limit` rows, and with a cursor only those before `beforeId`. */
export interface PageRequest {
  readonly limit: number;
  readonly beforeId?: string;
}

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 200;
/** An RFC 3339 timestamp with its offset, as the API writes them. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The query parameters every list takes besides its filters, as the parsers below accept them. */
export const PageParameters = {
  created_after: z.string().regex(TIMESTAMP).optional().openapi({ format: "date-time", description: "Created at or after this time (RFC 3339 with offset)", example: "2030-01-01T00:00:00Z" }),
  created_before: z.string().regex(TIMESTAMP).optional().openapi({ format: "date-time", description: "Created before this time (RFC 3339 with offset)" }),
  limit: z.int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).optional().openapi({ description: "Page size" }),
  cursor: z.string().regex(/^[A-Za-z0-9_-]+$/).optional().openapi({ description: "The `next_cursor` of the previous page" }),
};

/** A page of a list: its rows, newest first, and the cursor of the next page (null on the last). */
export const pageOfSchema = <T extends z.ZodType>(name: string, row: T) =>
  z.object({ data: z.array(row), next_cursor: z.string().nullable().openapi({ description: "Pass as `cursor` for the next page; null on the last" }) }).openapi(name);

export const isProblem = (value: unknown): value is QueryProblem => typeof value === "object" && value !== null && "parameter" in value;

/** The first parameter that is not in `known` or is given more than once. */
export function unknownOrRepeated(params: URLSearchParams, known: readonly string[]): QueryProblem | null {
  for (const name of new Set(params.keys())) {
    if (!known.includes(name)) return { parameter: name, message: `unknown query parameter; use ${known.join(", ")}` };
    if (params.getAll(name).length > 1) return { parameter: name, message: "given more than once" };
  }
  return null;
}

/** An RFC 3339 timestamp with its offset, or null. */
export function parseTimestamp(text: string): Date | null {
  const time = TIMESTAMP.test(text) ? new Date(text) : null;
  return time === null || Number.isNaN(time.getTime()) ? null : time;
}

export const TIMESTAMP_MESSAGE = "must be an RFC 3339 timestamp such as 2030-01-01T00:00:00Z";

/** The time in parameter `name`, undefined when absent. */
function timeParameter(params: URLSearchParams, name: string): Date | undefined | QueryProblem {
  const text = params.get(name);
  if (text === null) return undefined;
  return parseTimestamp(text) ?? { parameter: name, message: TIMESTAMP_MESSAGE };
}

/** `created_after` (inclusive) and `created_before` (exclusive), each optional. */
export function creationWindow(params: URLSearchParams): { createdAfter?: Date; createdBefore?: Date } | QueryProblem {
  const createdAfter = timeParameter(params, "created_after");
  if (isProblem(createdAfter)) return createdAfter;
  const createdBefore = timeParameter(params, "created_before");
  if (isProblem(createdBefore)) return createdBefore;
  return { ...(createdAfter === undefined ? {} : { createdAfter }), ...(createdBefore === undefined ? {} : { createdBefore }) };
}

/** `limit` and `cursor`; a cursor must be one `cursorAfter(kind, …)` made, holding an id `isId` accepts. */
export function pageParameters(params: URLSearchParams, kind: string, isId: (id: string) => boolean): PageRequest | QueryProblem {
  const limitText = params.get("limit");
  const limit = limitText === null ? DEFAULT_PAGE_SIZE : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) return { parameter: "limit", message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` };
  const cursor = params.get("cursor");
  if (cursor === null) return { limit };
  const decoded = fromBase64Url(cursor);
  const beforeId = decoded?.startsWith(`${kind}:`) ? decoded.slice(kind.length + 1) : null;
  if (beforeId === null || !isId(beforeId)) return { parameter: "cursor", message: "is not a cursor this API returned" };
  return { limit, beforeId: beforeId.toLowerCase() };
}

/**
 * The page out of `rows` read with `limit + 1`: its first `limit` rows, and the cursor of the next
 * page when the extra row shows there is one (null on the last page).
 */
export function pageOf<T extends { readonly id: string }>(rows: readonly T[], limit: number, kind: string): { page: readonly T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? cursorAfter(kind, page[page.length - 1]!.id) : null };
}

/** The opaque cursor of the page after the one that ended with `lastId`. */
export function cursorAfter(kind: string, lastId: string): string {
  return btoa(`${kind}:${lastId}`).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
}
