const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `value` is a uuid in canonical text form (8-4-4-4-12 hex digits, either case): the
 * form of job and delivery ids. Stores check it before a query, so that a malformed id reads as
 * "not found" rather than failing the statement.
 */
export function isUuid(value: string): boolean {
  return UUID_PATTERN.test(value);
}
