import { DataRefusedError } from "../ports/transactor.ts";

/**
 * SQLSTATE classes in which the database refuses a statement's data: 22 data exception (e.g.
 * 22P05, a NUL character in text), 23 integrity constraint violation, 54 program limit exceeded
 * (e.g. an index row too large).
 */
const REFUSING_CLASSES = new Set(["22", "23", "54"]);

/**
 * The error as a DataRefusedError when it means "this data is refused", else null. A RangeError
 * is a statement too large to build in JavaScript (e.g. `Invalid string length`): also the data's fault.
 */
export function asDataRefusal(error: unknown): DataRefusedError | null {
  if (error instanceof DataRefusedError) return error;
  if (error instanceof RangeError) return new DataRefusedError("RangeError", error.message, { cause: error });
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && REFUSING_CLASSES.has(code.slice(0, 2))) {
    return new DataRefusedError(code, error instanceof Error ? error.message : String(error), { cause: error });
  }
  return null;
}
