import type { LogFields, Logger, LogLevel } from "../ports/logger.ts";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * One JSON object per line: `{"time","level","msg",...fields}`. Secrets cannot leak through
 * it by accident: a `Secret` serialises as "[redacted]".
 */
export function createJsonLogger(options: {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => Date;
  fields?: LogFields;
}): Logger {
  const write = options.write ?? ((line: string) => console.log(line));
  const now = options.now ?? (() => new Date());
  const min = rank[options.level];
  const base = options.fields ?? {};
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (rank[level] < min) return;
    write(JSON.stringify({ time: now().toISOString(), level, msg, ...base, ...fields }));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (fields) => createJsonLogger({ ...options, write, now, fields: { ...base, ...fields } }),
  };
}
