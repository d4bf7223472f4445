import { describe, expect, it } from "vitest";
import type { Job } from "../../src/domain/job.ts";
import { buildWebhookPayload, isFinished } from "../../src/domain/payload.ts";

const base: Job = {
  id: "0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10",
  status: "succeeded",
  finishedAt: new Date("2025-03-01T12:00:00.123Z"),
  outputMarkup: "<p>Once upon a time</p>",
  errorCode: null,
  errorMessage: null,
  webhookUrl: "https://example.com/hook",
  webhookSecret: null,
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("buildWebhookPayload", () => {
  it("writes a succeeded job with its output markup and no error", () => {
    expect(text(buildWebhookPayload(base))).toBe(
      '{"job_id":"0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10","status":"succeeded",' +
        '"finished_at":"2025-03-01T12:00:00.123Z","output_markup":"<p>Once upon a time</p>"}',
    );
  });

  it("writes a failed job with its error and no output markup", () => {
    const job: Job = { ...base, status: "failed", outputMarkup: "ignored", errorCode: "model_timeout", errorMessage: "took too long" };
    expect(text(buildWebhookPayload(job))).toBe(
      '{"job_id":"0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10","status":"failed",' +
        '"finished_at":"2025-03-01T12:00:00.123Z","error":{"code":"model_timeout","message":"took too long"}}',
    );
  });

  it("keeps missing values as null rather than leaving them out", () => {
    const succeeded = JSON.parse(text(buildWebhookPayload({ ...base, finishedAt: null, outputMarkup: null })));
    expect(succeeded).toEqual({ job_id: base.id, status: "succeeded", finished_at: null, output_markup: null });
    const failed = JSON.parse(text(buildWebhookPayload({ ...base, status: "failed" })));
    expect(failed.error).toEqual({ code: null, message: null });
  });

  it("writes an invalid finish time as null instead of throwing", () => {
    const payload = JSON.parse(text(buildWebhookPayload({ ...base, finishedAt: new Date(Number.NaN) })));
    expect(payload.finished_at).toBeNull();
  });

  it("encodes non-ASCII markup as UTF-8 and escapes it as JSON", () => {
    const bytes = buildWebhookPayload({ ...base, outputMarkup: 'Él dijo "hola" ✓\n' });
    expect(JSON.parse(text(bytes)).output_markup).toBe('Él dijo "hola" ✓\n');
    expect(bytes).toContain(0xc3);
  });

  it("gives the same bytes every time for the same job", () => {
    expect(buildWebhookPayload(base)).toEqual(buildWebhookPayload({ ...base }));
  });
});

describe("isFinished", () => {
  it.each([
    ["succeeded", true],
    ["failed", true],
    ["running", false],
    ["queued", false],
    ["", false],
    ["SUCCEEDED", false],
  ])("treats status %j as finished: %s", (status, finished) => {
    expect(isFinished({ ...base, status })).toBe(finished);
  });
});
