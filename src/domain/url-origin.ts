/**
 * The `scheme://host[:port]` part of a webhook URL as it is written, lowercased: what the
 * operator API filters deliveries by. The same rule as the Postgres list statement's
 * `substring(url from '^[^:/?#]+://[^/?#]*')`, so both stores agree; a default port written
 * out (`:443`) is kept as written.
 */
export function urlOrigin(url: string): string {
  return (/^[^:/?#]+:\/\/[^/?#]*/.exec(url)?.[0] ?? "").toLowerCase();
}
