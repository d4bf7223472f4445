import { describe, expect, it } from "vitest";
import { isW3cTraceId, spanIdFromUuid, traceparentOf } from "../../src/domain/trace-context.ts";

describe("trace context", () => {
  it("takes 32 lowercase hex digits, not all zero, as a W3C trace id, and nothing else", () => {
    expect(isW3cTraceId("4bf92f3577b34da6a3ce929d0e0e4736")).toBe(true);
    for (const other of [null, "", "t-1", "4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e473", "4bf92f3577b34da6a3ce929d0e0e47360", "0".repeat(32), "4bf92f35-77b3-4da6-a3ce-929d0e0e4736"]) {
      expect(isW3cTraceId(other)).toBe(false);
    }
  });

  it("writes a traceparent as version 00, the trace id, the span id and the sampled flag", () => {
    expect(traceparentOf("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")).toBe("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  });

  it("takes a span id of 16 lowercase hex digits, never all zero, from the random tail of a UUID", () => {
    expect(spanIdFromUuid("01a23830-40d8-7C93-95E2-BFC9349D488E")).toBe("95e2bfc9349d488e");
    expect(spanIdFromUuid("00000000-0000-4000-8000-000000000000")).toBe("8000000000000000");
  });
});
