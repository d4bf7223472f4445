/**
 * A webhook signing secret that never prints itself: logging, JSON-encoding or
 * string-interpolating it yields "[redacted]". Only `reveal()` gives the value,
 * and only the signer calls it.
 */
export interface Secret {
  reveal(): string;
  toString(): string;
  toJSON(): string;
}

const REDACTED = "[redacted]";
// Node's util.inspect looks this symbol up; it is a registry symbol, so no runtime import is needed.
const inspectSymbol = Symbol.for("nodejs.util.inspect.custom");

export function makeSecret(value: string): Secret {
  const secret = {
    reveal: () => value,
    toString: () => REDACTED,
    toJSON: () => REDACTED,
    [inspectSymbol]: () => REDACTED,
  };
  return Object.freeze(secret);
}
