import type postgres from "postgres";

/**
 * What the repositories query through: the pool or one transaction's connection. Both are
 * postgres.js tagged-template functions; only the pool can begin transactions.
 */
export type SqlClient = postgres.ISql;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `value` is a uuid in canonical text form. Checked before a query so that a malformed
 * id reads as "not found" rather than failing the statement with SQLSTATE 22P02.
 */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}

/** postgres.js returns bytea as a Buffer; callers get a plain Uint8Array that owns its bytes. */
export function toBytes(value: Uint8Array): Uint8Array;
export function toBytes(value: Uint8Array | null): Uint8Array | null;
export function toBytes(value: Uint8Array | null): Uint8Array | null {
  return value === null ? null : new Uint8Array(value);
}
