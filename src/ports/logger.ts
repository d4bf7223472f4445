export type LogLevel = "debug" | "info" | "warn" | "error";

/** Field values are serialised as JSON; never pass a secret's revealed value. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Structured logger. `child` returns a logger that adds `fields` to every line. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** A logger that drops everything, so callers never write `if (logger)`. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};
