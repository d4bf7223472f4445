import type { DeliveryStatus } from "../../domain/delivery.ts";
import { isUuid } from "../../domain/uuid.ts";
import type { DeliveryFilter } from "../../ports/delivery-store.ts";

/** A page request of `GET /v1/deliveries`, parsed. */
export interface DeliveryListQuery {
  readonly filter: DeliveryFilter;
  readonly limit: number;
  /** From the cursor: the page holds only ids before this one. */
  readonly beforeId?: string;
}

/** What was wrong with one query parameter, for a 400 that names it. */
export interface QueryProblem {
  readonly parameter: string;
  readonly message: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const STATUSES: readonly DeliveryStatus[] = ["pending", "sent", "failed"];
const KNOWN = new Set(["status", "job_id", "event", "origin", "created_after", "created_before", "limit", "cursor"]);
/** `scheme://host[:port]`: no path, query, fragment or credentials. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/i;
/** An RFC 3339 timestamp with its offset, as the API writes them. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const CURSOR_PREFIX = "d1:";

/** The opaque cursor of the page after the one that ended with `lastId`. */
export function cursorAfter(lastId: string): string {
  return base64Url(CURSOR_PREFIX + lastId);
}

/**
 * Parses the query of `GET /v1/deliveries`. Each parameter is given at most once; an unknown
 * one is refused rather than ignored, so a misspelt filter does not silently list everything.
 */
export function parseDeliveryListQuery(params: URLSearchParams): DeliveryListQuery | QueryProblem {
  for (const name of new Set(params.keys())) {
    if (!KNOWN.has(name)) return { parameter: name, message: `unknown query parameter; use ${[...KNOWN].join(", ")}` };
    if (params.getAll(name).length > 1) return { parameter: name, message: "given more than once" };
  }
  const value = (name: string) => params.get(name) ?? undefined;
  const filter: { -readonly [K in keyof DeliveryFilter]: DeliveryFilter[K] } = {};
  const status = value("status");
  if (status !== undefined && !STATUSES.includes(status as DeliveryStatus)) return { parameter: "status", message: `must be one of ${STATUSES.join(", ")}` };
  if (status !== undefined) filter.status = status as DeliveryStatus;
  const jobId = value("job_id");
  if (jobId !== undefined && !isUuid(jobId)) return { parameter: "job_id", message: "must be a UUID" };
  if (jobId !== undefined) filter.jobId = jobId.toLowerCase();
  const event = value("event");
  if (event !== undefined && (event === "" || event.length > 200)) return { parameter: "event", message: "must be 1 to 200 characters" };
  if (event !== undefined) filter.event = event;
  const origin = value("origin");
  if (origin !== undefined && !ORIGIN.test(origin)) return { parameter: "origin", message: "must be scheme://host or scheme://host:port, without a path" };
  if (origin !== undefined) filter.origin = origin.toLowerCase();
  for (const [name, key] of [["created_after", "createdAfter"], ["created_before", "createdBefore"]] as const) {
    const text = value(name);
    if (text === undefined) continue;
    const time = TIMESTAMP.test(text) ? new Date(text) : null;
    if (time === null || Number.isNaN(time.getTime())) return { parameter: name, message: "must be an RFC 3339 timestamp such as 2030-01-01T00:00:00Z" };
    filter[key] = time;
  }
  return withPaging(filter, value("limit"), value("cursor"));
}

function withPaging(filter: DeliveryFilter, limitText: string | undefined, cursor: string | undefined): DeliveryListQuery | QueryProblem {
  const limit = limitText === undefined ? DEFAULT_PAGE_SIZE : /^\d{1,3}$/.test(limitText) ? Number(limitText) : NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) return { parameter: "limit", message: `must be a whole number from 1 to ${MAX_PAGE_SIZE}` };
  if (cursor === undefined) return { filter, limit };
  const decoded = fromBase64Url(cursor);
  const beforeId = decoded?.startsWith(CURSOR_PREFIX) ? decoded.slice(CURSOR_PREFIX.length) : null;
  if (beforeId === null || !isUuid(beforeId)) return { parameter: "cursor", message: "is not a cursor this API returned" };
  return { filter, limit, beforeId: beforeId.toLowerCase() };
}

function base64Url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
}
