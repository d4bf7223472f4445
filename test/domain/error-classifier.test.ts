import { describe, expect, it } from "vitest";
import { classifySendResult, type Verdict } from "../../src/domain/error-classifier.ts";
import type { SendErrorKind, SendResponse } from "../../src/domain/send-result.ts";

function response(status: number, headers: { retryAfter?: string; location?: string } = {}): SendResponse {
  return {
    kind: "response",
    status,
    retryAfter: headers.retryAfter ?? null,
    location: headers.location ?? null,
    bodySnippet: new Uint8Array(),
    bodyTruncated: false,
    durationMs: 12,
  };
}

const retryable = (error: string, retryAfter: string | null = null): Verdict => ({ kind: "retryable", error, retryAfter });
const permanent = (error: string): Verdict => ({ kind: "permanent", error });
const success: Verdict = { kind: "success" };

describe("classifySendResult for responses", () => {
  it.each<[number, { retryAfter?: string; location?: string }, Verdict]>([
    [200, {}, success],
    [201, {}, success],
    [204, {}, success],
    [299, {}, success],
    [301, { location: "https://new.example/hook" }, retryable("HTTP 301 redirect to https://new.example/hook (not followed)")],
    [302, { location: "https://x" }, retryable("HTTP 302 redirect to https://x (not followed)")],
    [304, {}, retryable("HTTP 304 redirect without Location (not followed)")],
    [400, {}, permanent("HTTP 400")],
    [401, {}, permanent("HTTP 401")],
    [404, {}, permanent("HTTP 404")],
    [408, {}, retryable("HTTP 408")],
    [409, {}, permanent("HTTP 409")],
    [410, {}, permanent("HTTP 410")],
    [422, {}, permanent("HTTP 422")],
    [429, { retryAfter: "120" }, retryable("HTTP 429", "120")],
    [429, {}, retryable("HTTP 429")],
    [500, { retryAfter: "120" }, retryable("HTTP 500")],
    [502, {}, retryable("HTTP 502")],
    [503, { retryAfter: "Sat, 01 Mar 2025 12:02:30 GMT" }, retryable("HTTP 503", "Sat, 01 Mar 2025 12:02:30 GMT")],
    [504, {}, retryable("HTTP 504")],
    [100, {}, retryable("HTTP 100")],
    [600, {}, retryable("HTTP 600")],
  ])("classifies HTTP %d %j as %j", (status, headers, verdict) => {
    expect(classifySendResult(response(status, headers))).toEqual(verdict);
  });

  it("passes Retry-After through only for 429 and 503", () => {
    for (let status = 100; status < 600; status++) {
      const verdict = classifySendResult(response(status, { retryAfter: "7" }));
      const passed = verdict.kind === "retryable" ? verdict.retryAfter : null;
      expect(passed).toBe(status === 429 || status === 503 ? "7" : null);
    }
  });

  it("shortens an enormous Location in the recorded error", () => {
    const verdict = classifySendResult(response(307, { location: `https://x/${"a".repeat(5_000)}` }));
    expect(verdict.kind).toBe("retryable");
    expect(verdict.kind === "retryable" && verdict.error.length).toBeLessThan(600);
  });
});

describe("classifySendResult for send errors", () => {
  it.each<[SendErrorKind, Verdict["kind"]]>([
    ["timeout", "retryable"],
    ["connection_refused", "retryable"],
    ["connection_reset", "retryable"],
    ["dns_failure", "retryable"],
    ["tls_error", "retryable"],
    ["network_error", "retryable"],
    ["invalid_url", "permanent"],
    ["blocked_destination", "permanent"],
    ["job_missing", "permanent"],
    ["invalid_secret", "permanent"],
  ])("treats %s as %s", (error, kind) => {
    const verdict = classifySendResult({ kind: "error", error, message: "details here", durationMs: 5 });
    expect(verdict).toEqual(
      kind === "retryable"
        ? { kind, error: `${error}: details here`, retryAfter: null }
        : { kind, error: `${error}: details here` },
    );
  });

  it("uses the bare error kind when the message is empty", () => {
    expect(classifySendResult({ kind: "error", error: "timeout", message: "", durationMs: 30_000 })).toEqual(
      retryable("timeout"),
    );
  });
});
