import { describe, expect, it } from "vitest";
import { carriedJobJson, jobOfCarried, parseCarriedJob } from "../../src/domain/carried-job.ts";
import { JOB_EVENT_ENVELOPE_BYTES, maxJobEventBytes, parseWebhookEvent } from "../../src/domain/event.ts";
import type { Job } from "../../src/domain/job.ts";
import { buildWebhookPayload } from "../../src/domain/payload.ts";
import { makeSecret } from "../../src/domain/secret.ts";

const JOB_ID = "0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const succeeded = {
  status: "succeeded",
  finished_at: "2026-01-01T12:00:00.250Z",
  output_markup: "<story>Once upon a time</story>",
  webhook: { url: "https://receiver.example/hook", secret: SECRET },
};
const failed = {
  status: "failed",
  finished_at: "2026-01-01T12:00:00Z",
  error: { code: "render_timeout", message: "rendering took too long" },
  webhook: { url: "https://receiver.example/hook", secret: SECRET },
};
const reasonOf = (job: unknown) => {
  const parsed = parseCarriedJob(job);
  return parsed.ok ? "ok" : parsed.reason;
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe("an event that carries its job", () => {
  it("parses a succeeded job with its markup, webhook URL and secret", () => {
    const parsed = parseWebhookEvent({ job_id: JOB_ID, event: "job.succeeded", job: succeeded });
    expect(parsed.ok).toBe(true);
    const job = parsed.ok ? parsed.event.job : undefined;
    expect(job).toMatchObject({ status: "succeeded", outputMarkup: succeeded.output_markup, error: null, webhook: { url: "https://receiver.example/hook" } });
    expect(job?.finishedAt.toISOString()).toBe("2026-01-01T12:00:00.250Z");
    expect(job?.webhook?.secret?.reveal()).toBe(SECRET);
  });

  it("parses a failed job with its error code and message", () => {
    const parsed = parseCarriedJob(failed);
    expect(parsed).toMatchObject({ ok: true, job: { status: "failed", outputMarkup: null, error: failed.error } });
  });

  it("treats a null job as no job, to be read from the jobs table", () => {
    const parsed = parseWebhookEvent({ job_id: JOB_ID, event: "job.succeeded", job: null });
    expect(parsed).toEqual({ ok: true, event: { jobId: JOB_ID, event: "job.succeeded", traceId: null } });
  });

  it("takes a job without a webhook (skipped like a jobs row without a URL) and a webhook without a secret (unsigned)", () => {
    expect(parseCarriedJob({ ...succeeded, webhook: undefined })).toMatchObject({ ok: true, job: { webhook: null } });
    expect(parseCarriedJob({ ...succeeded, webhook: { url: "https://r.example/" } })).toMatchObject({ ok: true, job: { webhook: { secret: null } } });
  });

  it("stores the URL normalised by the WHATWG URL parser", () => {
    const parsed = parseCarriedJob({ ...succeeded, webhook: { url: "HTTPS://Receiver.Example:443/a/../hook" } });
    expect(parsed.ok && parsed.job.webhook?.url).toBe("https://receiver.example/hook");
  });

  it.each([
    [[], "invalid_field: job must be an object"],
    ["succeeded", "invalid_field: job must be an object"],
    [{ ...succeeded, status: undefined }, "missing_field: job.status"],
    [{ ...succeeded, status: "running" }, 'invalid_field: job.status must be "succeeded" or "failed"'],
    [{ ...succeeded, finished_at: null }, "missing_field: job.finished_at"],
    [{ ...succeeded, output_markup: undefined }, "missing_field: job.output_markup (a succeeded job has one)"],
    [{ ...succeeded, output_markup: 42 }, "invalid_field: job.output_markup must be a string"],
    [{ ...succeeded, error: failed.error }, "invalid_field: job.error is only for a failed job"],
    [{ ...failed, error: undefined }, "missing_field: job.error (a failed job has one)"],
    [{ ...failed, error: "boom" }, "invalid_field: job.error must be an object with code and message"],
    [{ ...failed, error: { message: "m" } }, "invalid_field: job.error.code must be a non-empty string of at most 256 characters"],
    [{ ...failed, error: { code: "c".repeat(257), message: "m" } }, "invalid_field: job.error.code must be a non-empty string of at most 256 characters"],
    [{ ...failed, error: { code: "c" } }, "invalid_field: job.error.message must be a string"],
    [{ ...failed, output_markup: "<story/>" }, "invalid_field: job.output_markup is only for a succeeded job"],
    [{ ...succeeded, webhook: "https://r.example/" }, "invalid_field: job.webhook must be an object with url and secret"],
    [{ ...succeeded, webhook: { secret: SECRET } }, "missing_field: job.webhook.url"],
    [{ ...succeeded, webhook: { url: 7 } }, "invalid_field: job.webhook.url must be a string of at most 8192 characters"],
    [{ ...succeeded, webhook: { url: "ftp://r.example/" } }, "invalid_field: job.webhook.url: invalid_url: scheme must be http or https, got ftp:"],
    [{ ...succeeded, webhook: { url: "https://r.example/", secret: 42 } }, "invalid_field: job.webhook.secret must be a string"],
    [{ ...succeeded, webhook: { url: "https://r.example/", secret: "" } }, "invalid_field: job.webhook.secret: secret is empty"],
  ])("refuses %j with the reason %s", (job, reason) => {
    expect(reasonOf(job)).toBe(reason);
  });

  it("makes the whole event invalid when its job is", () => {
    expect(parseWebhookEvent({ job_id: JOB_ID, event: "job.succeeded", job: { ...succeeded, status: "done" } })).toEqual({
      ok: false,
      reason: 'invalid_field: job.status must be "succeeded" or "failed"',
    });
  });

  it.each(["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00+24:00", "yesterday", 1767268800])(
    "refuses the finish time %j",
    (finishedAt) => {
      expect(reasonOf({ ...succeeded, finished_at: finishedAt })).toBe("invalid_field: job.finished_at must be an RFC 3339 date-time, e.g. 2026-01-01T12:00:00Z");
    },
  );

  it.each([
    ["2026-01-01T13:30:00+01:30", "2026-01-01T12:00:00.000Z"],
    ["2026-01-01t12:00:00z", "2026-01-01T12:00:00.000Z"],
    ["2026-01-01 12:00:00.123456Z", "2026-01-01T12:00:00.123Z"],
    ["2024-02-29T00:00:00-00:00", "2024-02-29T00:00:00.000Z"],
  ])("reads the finish time %s as %s", (finishedAt, instant) => {
    const parsed = parseCarriedJob({ ...succeeded, finished_at: finishedAt });
    expect(parsed.ok && parsed.job.finishedAt.toISOString()).toBe(instant);
  });

  it("never repeats the secret or the URL in a reason", () => {
    const secret = "bad secret with spaces";
    const reasons = [
      reasonOf({ ...succeeded, webhook: { url: "https://r.example/", secret } }),
      reasonOf({ ...succeeded, webhook: { url: "https://user:pw-in-url@r.example/", secret: SECRET } }),
    ];
    expect(reasons).toEqual([
      "invalid_field: job.webhook.secret: secret contains whitespace or control characters",
      "invalid_field: job.webhook.url: invalid_url: credentials in the URL are not allowed",
    ]);
  });

  it("gives the same webhook body as the same job read from the jobs table", () => {
    const row: Job = {
      id: JOB_ID,
      status: "failed",
      finishedAt: new Date("2026-01-01T12:00:00Z"),
      outputMarkup: null,
      errorCode: "render_timeout",
      errorMessage: "rendering took too long",
      webhookUrl: "https://receiver.example/hook",
      webhookSecret: makeSecret(SECRET),
    };
    const parsed = parseCarriedJob(failed);
    if (!parsed.ok) throw new Error(parsed.reason);
    const carried = jobOfCarried(JOB_ID, parsed.job);
    expect(text(buildWebhookPayload(carried))).toBe(text(buildWebhookPayload(row)));
    expect({ ...carried, webhookSecret: carried.webhookSecret?.reveal() }).toEqual({ ...row, webhookSecret: SECRET });
  });

  it("writes the job back in the format producers send, which parses to the same job", () => {
    const parsed = parseCarriedJob(succeeded);
    if (!parsed.ok) throw new Error(parsed.reason);
    const json = carriedJobJson(parsed.job);
    expect(json).toEqual(succeeded);
    const again = parseCarriedJob(JSON.parse(JSON.stringify(json)));
    expect(again.ok && again.job.webhook?.secret?.reveal()).toBe(SECRET);
  });
});

describe("the size of an event that carries its job", () => {
  const limits = { maxPayloadBytes: 4096 };
  /** An event of exactly `bytes` bytes, its job's markup padded to fit. */
  function eventOfSize(bytes: number, job: boolean): Uint8Array {
    const shell = job
      ? { job_id: JOB_ID, event: "job.succeeded", job: { ...succeeded, output_markup: "" } }
      : { job_id: JOB_ID, event: "job.succeeded", pad: "" };
    const padding = "x".repeat(bytes - JSON.stringify(shell).length);
    const value = job ? { ...shell, job: { ...succeeded, output_markup: padding } } : { ...shell, pad: padding };
    const encoded = new TextEncoder().encode(JSON.stringify(value));
    expect(encoded.length).toBe(bytes);
    return encoded;
  }

  it("is the payload limit plus the 64 KiB envelope, never less than the limit of an event without one", () => {
    expect(maxJobEventBytes(limits)).toBe(4096 + JOB_EVENT_ENVELOPE_BYTES);
    expect(maxJobEventBytes()).toBe(1024 * 1024 + 64 * 1024);
    expect(maxJobEventBytes({ maxBytes: 1024 * 1024, maxPayloadBytes: 1024 })).toBe(1024 * 1024);
  });

  it("accepts an event with its job of exactly the limit and refuses one byte more", () => {
    const max = maxJobEventBytes(limits);
    expect(parseWebhookEvent(eventOfSize(max, true), limits).ok).toBe(true);
    expect(parseWebhookEvent(eventOfSize(max + 1, true), limits)).toEqual({ ok: false, reason: `too_large: ${max + 1} bytes (max ${max} for an event with its job)` });
  });

  it("holds an event without a job to 64 KiB", () => {
    expect(parseWebhookEvent(eventOfSize(64 * 1024, false), limits).ok).toBe(true);
    expect(parseWebhookEvent(eventOfSize(64 * 1024 + 1, false), limits)).toEqual({ ok: false, reason: "too_large: 65537 bytes (max 65536 for an event without a job)" });
  });
});
