import { describe, expect, it } from "vitest";
import { failureReasonOf, reasonCodeOf, statusClassOf } from "../../src/domain/metric-labels.ts";

describe("metric labels", () => {
  it("gives a status its class, a status outside 100–599 `other` and no response `none`", () => {
    expect([100, 204, 301, 410, 429, 503, 599].map(statusClassOf)).toEqual(["1xx", "2xx", "3xx", "4xx", "4xx", "5xx", "5xx"]);
    expect([0, 99, 600, 999].map(statusClassOf)).toEqual(["other", "other", "other", "other"]);
    expect(statusClassOf(null)).toBe("none");
  });

  it("names a failure by its last attempt: the answer's class, no answer, or nothing sent", () => {
    expect(failureReasonOf({ statusCode: 410, errorKind: null })).toBe("http_4xx");
    expect(failureReasonOf({ statusCode: 500, errorKind: null })).toBe("http_5xx");
    expect(failureReasonOf({ statusCode: 302, errorKind: null })).toBe("http_other");
    expect(failureReasonOf({ statusCode: null, errorKind: "timeout" })).toBe("timeout");
    expect(failureReasonOf({ statusCode: null, errorKind: "dns_failure" })).toBe("network");
    expect(failureReasonOf({ statusCode: null, errorKind: "connection_reset" })).toBe("network");
    expect(failureReasonOf({ statusCode: null, errorKind: "blocked_destination" })).toBe("not_sent");
    expect(failureReasonOf({ statusCode: null, errorKind: "job_missing" })).toBe("not_sent");
  });

  it("takes a dead letter's reason code from before the first colon, and anything that is not a code as `other`", () => {
    expect(reasonCodeOf("invalid_json: Unexpected token } in JSON")).toBe("invalid_json");
    expect(reasonCodeOf("unknown_job")).toBe("unknown_job");
    expect(reasonCodeOf("refused_by_database: 22P05 unsupported Unicode escape")).toBe("refused_by_database");
    expect(reasonCodeOf("Connection terminated unexpectedly")).toBe("other");
    expect(reasonCodeOf(`${"a".repeat(41)}: too long`)).toBe("other");
    expect(reasonCodeOf("")).toBe("other");
  });
});
