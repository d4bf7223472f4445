import { describe, expect, it } from "vitest";
import { createPinoLogger } from "../../src/adapters/pino-logger.ts";
import { makeSecret } from "../../src/domain/secret.ts";
import type { LogLevel } from "../../src/ports/logger.ts";

/** A pino logger at `level` whose lines are kept, as written, instead of going to stdout. */
function capturedLogger(level: LogLevel) {
  const written: string[] = [];
  const logger = createPinoLogger({ level, destination: { write: (line) => written.push(line) } });
  const lines = () => written.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, written, lines };
}

describe("pino logger", () => {
  it("writes one JSON object per line with an ISO time, the level's name, the message and the fields", () => {
    const { logger, written, lines } = capturedLogger("debug");
    logger.info("delivery sent", { delivery_id: "d-1", attempt: 2, status_code: 200, error_kind: null });
    expect(written).toHaveLength(1);
    expect(written[0]!.endsWith("}\n")).toBe(true);
    expect(written[0]!.slice(0, -1)).not.toContain("\n");
    const [line] = lines();
    expect(line).toEqual({ time: expect.any(String), level: "info", msg: "delivery sent", delivery_id: "d-1", attempt: 2, status_code: 200, error_kind: null });
    expect(new Date(line!.time as string).toISOString()).toBe(line!.time);
  });

  it("adds no pid or hostname of its own", () => {
    const { logger, lines } = capturedLogger("info");
    logger.info("started");
    expect(Object.keys(lines()[0]!).sort()).toEqual(["level", "msg", "time"]);
  });

  it("writes the levels at or above its own, each under its name", () => {
    const { logger, lines } = capturedLogger("warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines().map((line) => [line.level, line.msg])).toEqual([["warn", "w"], ["error", "e"]]);
  });

  it("writes debug lines at debug", () => {
    const { logger, lines } = capturedLogger("debug");
    logger.debug("d", { n: 1 });
    expect(lines()).toMatchObject([{ level: "debug", msg: "d", n: 1 }]);
  });

  it("adds a child's fields to each of its lines, and its children's to theirs, at the parent's level", () => {
    const { logger, lines } = capturedLogger("info");
    const delivery = logger.child({ component: "delivery" }).child({ delivery_id: "d-1" });
    delivery.debug("hidden");
    delivery.info("delivery sent", { attempt: 1 });
    logger.info("plain");
    expect(lines()).toEqual([
      { time: expect.any(String), level: "info", msg: "delivery sent", component: "delivery", delivery_id: "d-1", attempt: 1 },
      { time: expect.any(String), level: "info", msg: "plain" },
    ]);
  });

  it("prints a Secret as [redacted], in a line's fields, nested in them, and in a child's fields", () => {
    const { logger, written } = capturedLogger("debug");
    logger.info("fields", { secret: makeSecret("top-level-secret") });
    logger.warn("nested", { secrets: [makeSecret("secret-in-a-list")], job: { webhook_secret: makeSecret("secret-in-an-object") } });
    logger.child({ secret: makeSecret("secret-of-a-child") }).error("child");
    const text = written.join("");
    for (const value of ["top-level-secret", "secret-in-a-list", "secret-in-an-object", "secret-of-a-child"]) expect(text).not.toContain(value);
    expect(written.map((line) => JSON.parse(line) as unknown)).toMatchObject([
      { secret: "[redacted]" },
      { secrets: ["[redacted]"], job: { webhook_secret: "[redacted]" } },
      { secret: "[redacted]" },
    ]);
  });

  it("writes a message as given, never reading a % in it as a format", () => {
    const { logger, lines } = capturedLogger("info");
    logger.info("100% of %s %d", { n: 1 });
    logger.info("no fields %j");
    expect(lines().map((line) => line.msg)).toEqual(["100% of %s %d", "no fields %j"]);
  });
});
