import type postgres from "postgres";

/**
 * What the repositories query through: the pool or one transaction's connection. Both are
 * postgres.js tagged-template functions; only the pool can begin transactions.
 */
export type SqlClient = postgres.ISql;

/** postgres.js returns bytea as a Buffer; callers get a plain Uint8Array that owns its bytes. */
export function toBytes(value: Uint8Array): Uint8Array;
export function toBytes(value: Uint8Array | null): Uint8Array | null;
export function toBytes(value: Uint8Array | null): Uint8Array | null {
  return value === null ? null : new Uint8Array(value);
}

// Element type oids for postgres.js array parameters whose elements it cannot infer as text.
export const BYTEA = 17;
export const TIMESTAMPTZ = 1184;
