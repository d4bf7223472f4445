import pino from "pino";
import type { LogFields, Logger, LogLevel } from "../ports/logger.ts";

/** Where the lines go: anything with `write(line)`, as pino takes it (tests pass one that keeps them). */
export interface LogDestination {
  write(line: string): void;
}

/**
 * The `Logger` port on pino: one JSON object per line, `{"level":"info","time":"<ISO>",...fields,"msg"}`.
 * Secrets cannot leak through it by accident: a `Secret` serialises as "[redacted]".
 */
export function createPinoLogger(options: { level: LogLevel; destination?: LogDestination }): Logger {
  const root = pino(
    {
      level: options.level,
      // No pid or hostname on every line: the platform that collects the lines knows both.
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? stdout(),
  );
  return asPort(root);
}

/**
 * Synchronous writes to fd 1: buffered ones cost as much (4–8 µs of CPU a line either way) and
 * lose the last lines when Deno exits, since `Deno.exit` runs no hook to flush them (docs/decisions.md).
 */
function stdout(): pino.DestinationStream {
  return pino.destination({ dest: 1, sync: true });
}

const NO_FIELDS: LogFields = Object.freeze({});

function asPort(logger: pino.Logger): Logger {
  // The message goes as pino's second argument with no others, so a `%` in it is never read as a format.
  return {
    debug: (message, fields) => logger.debug(fields ?? NO_FIELDS, message),
    info: (message, fields) => logger.info(fields ?? NO_FIELDS, message),
    warn: (message, fields) => logger.warn(fields ?? NO_FIELDS, message),
    error: (message, fields) => logger.error(fields ?? NO_FIELDS, message),
    child: (fields) => asPort(logger.child(fields)),
  };
}
