import { describe, expect, it } from "vitest";
import { parseWebhookEvent } from "../../src/domain/event.ts";

const JOB_ID = "0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10";
const valid = { job_id: JOB_ID, event: "job.succeeded", trace_id: "trace-123" };
const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const reasonOf = (value: unknown, options?: { maxBytes?: number; maxPayloadBytes?: number }) => {
  const parsed = parseWebhookEvent(value, options);
  return parsed.ok ? "ok" : parsed.reason;
};

describe("parseWebhookEvent", () => {
  const expected = { ok: true, event: { jobId: JOB_ID, event: "job.succeeded", traceId: "trace-123" } };

  it("parses an event from message bytes", () => {
    expect(parseWebhookEvent(bytesOf(valid))).toEqual(expected);
  });

  it("parses an event from JSON text", () => {
    expect(parseWebhookEvent(JSON.stringify(valid))).toEqual(expected);
  });

  it("parses an already-decoded object", () => {
    expect(parseWebhookEvent(valid)).toEqual(expected);
  });

  it("lowercases the job id", () => {
    const parsed = parseWebhookEvent({ ...valid, job_id: JOB_ID.toUpperCase() });
    expect(parsed.ok && parsed.event.jobId).toBe(JOB_ID);
  });

  it("treats a missing or null trace_id as null", () => {
    const parsed = parseWebhookEvent({ job_id: JOB_ID, event: "job.failed" });
    expect(parsed).toEqual({ ok: true, event: { jobId: JOB_ID, event: "job.failed", traceId: null } });
    expect(parseWebhookEvent({ ...valid, trace_id: null })).toMatchObject({ ok: true, event: { traceId: null } });
  });

  it("ignores fields it does not know", () => {
    expect(parseWebhookEvent({ ...valid, extra: [1, 2, 3] })).toEqual(expected);
  });

  it("accepts an event name of exactly 200 characters and a trace id of exactly 256", () => {
    expect(reasonOf({ ...valid, event: "a".repeat(200), trace_id: "t".repeat(256) })).toBe("ok");
  });

  it("reports invalid UTF-8 bytes", () => {
    expect(reasonOf(new Uint8Array([0x7b, 0xff, 0x7d]))).toBe("invalid_utf8");
  });

  it("reports invalid JSON with the parser's message", () => {
    expect(reasonOf("{not json")).toMatch(/^invalid_json: .+/);
    expect(reasonOf(new TextEncoder().encode(""))).toMatch(/^invalid_json: .+/);
  });

  it.each(["null", "42", '"just a string"', "true", `[${JSON.stringify(valid)}]`])("reports JSON %s as not an object", (json) => {
    expect(reasonOf(json)).toBe("not_an_object");
  });

  it.each([null, 42, true, [valid]])("reports the decoded value %j as not an object", (value) => {
    expect(reasonOf(value)).toBe("not_an_object");
  });

  it("reports a missing job_id", () => {
    expect(reasonOf({ event: "job.succeeded" })).toBe("missing_field: job_id");
    expect(reasonOf({ job_id: null, event: "job.succeeded" })).toBe("missing_field: job_id");
  });

  it.each(["", "not-a-uuid", `${JOB_ID}0`, JOB_ID.replaceAll("-", ""), 42])("reports job_id %j as not a UUID", (jobId) => {
    expect(reasonOf({ ...valid, job_id: jobId })).toBe("invalid_field: job_id must be a UUID");
  });

  it("reports a missing event", () => {
    expect(reasonOf({ job_id: JOB_ID })).toBe("missing_field: event");
  });

  it.each(["", "a".repeat(201), "job succeeded", "job/succeeded", "événement", 7])("reports event %j as invalid", (event) => {
    expect(reasonOf({ ...valid, event })).toBe(
      "invalid_field: event must be a non-empty string of at most 200 characters of [A-Za-z0-9._-]",
    );
  });

  it.each([42, { id: 1 }, "t".repeat(257)])("reports trace_id %j as invalid", (traceId) => {
    expect(reasonOf({ ...valid, trace_id: traceId })).toBe("invalid_field: trace_id must be a string of at most 256 characters");
  });

  it("reports input over the limit of an event with its job as too large, before decoding it", () => {
    const big = new Uint8Array(1024 + 64 * 1024 + 1).fill(0xff);
    expect(reasonOf(big, { maxPayloadBytes: 1024 })).toBe("too_large: 66561 bytes (max 66560 for an event with its job)");
  });

  it("reports an event without a job over 64 KiB as too large", () => {
    const padded = JSON.stringify({ ...valid, padding: "x".repeat(64 * 1024) });
    expect(reasonOf(padded)).toBe(`too_large: ${padded.length} bytes (max 65536 for an event without a job)`);
  });

  it("measures text input in UTF-8 bytes against a custom limit", () => {
    expect(reasonOf(JSON.stringify({ ...valid, pad: "éé" }), { maxBytes: 108 })).toBe("too_large: 109 bytes (max 108 for an event without a job)");
    expect(reasonOf(JSON.stringify(valid), { maxBytes: 1024 })).toBe("ok");
  });

  it("never quotes the input in an invalid_json reason, which may hold a secret", () => {
    const reason = reasonOf('{"job": {"webhook": {"secret": "s3cr3t-value"}}, "a": tru}');
    expect(reason).toMatch(/^invalid_json: /);
    expect(reason).not.toContain("s3cr3t");
  });
});
