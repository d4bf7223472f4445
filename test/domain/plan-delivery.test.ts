import { describe, expect, it } from "vitest";
import type { Job } from "../../src/domain/job.ts";
import { buildWebhookPayload } from "../../src/domain/payload.ts";
import { planDelivery } from "../../src/domain/plan-delivery.ts";

const job: Job = {
  id: "0b9e4c1e-8f5a-4d7e-9a51-7f2d7e1f3a10",
  status: "failed",
  finishedAt: new Date("2025-03-01T12:00:00Z"),
  outputMarkup: null,
  errorCode: "boom",
  errorMessage: "it broke",
  webhookUrl: "  https://example.com/hook \n",
  webhookSecret: null,
};

const limits = { maxPayloadBytes: 1024 };

describe("planDelivery", () => {
  it("delivers a finished job's payload to its trimmed webhook URL", () => {
    expect(planDelivery(job, limits)).toEqual({ kind: "deliver", url: "https://example.com/hook", payload: buildWebhookPayload(job) });
  });

  it("dead-letters an event whose job does not exist", () => {
    expect(planDelivery(undefined, limits)).toEqual({ kind: "dead_letter", reason: "unknown_job" });
  });

  it("dead-letters an event whose job has not finished", () => {
    expect(planDelivery({ ...job, status: "running" }, limits)).toEqual({
      kind: "dead_letter",
      reason: "job_not_finished: status is running",
    });
  });

  it.each([null, "", "   "])("skips a job whose webhook URL is %j", (webhookUrl) => {
    expect(planDelivery({ ...job, webhookUrl }, limits)).toEqual({ kind: "skip", reason: "no_webhook_url" });
  });

  it("leaves an invalid URL to be judged at send time", () => {
    expect(planDelivery({ ...job, webhookUrl: "not a url" }, limits)).toMatchObject({ kind: "deliver", url: "not a url" });
  });

  it("rejects a job whose built body is over the payload limit, without sending anything", () => {
    const big = { ...job, status: "succeeded", outputMarkup: "x".repeat(1000) };
    const plan = planDelivery(big, limits);
    expect(plan).toEqual({ kind: "reject", url: "https://example.com/hook", reason: expect.stringMatching(/^payload_too_large: \d+ bytes \(max 1024\)$/) });
    expect(planDelivery(big, { maxPayloadBytes: buildWebhookPayload(big).byteLength })).toMatchObject({ kind: "deliver" });
  });

  it("counts JSON escaping against the limit: markup under the limit can build a body over it", () => {
    const quoted = { ...job, status: "succeeded", outputMarkup: "\u0001".repeat(300) };
    expect(buildWebhookPayload(quoted).byteLength).toBeGreaterThan(1024);
    expect(planDelivery(quoted, limits)).toMatchObject({ kind: "reject", reason: expect.stringMatching(/^payload_too_large/) });
  });

  it("rejects a job whose body the reader left unread because it alone is over the limit", () => {
    const unread = { ...job, errorMessage: null, unreadBody: { reason: "too_large" as const, bytes: 67_108_864 } };
    expect(planDelivery(unread, limits)).toEqual({
      kind: "reject",
      url: "https://example.com/hook",
      reason: "payload_too_large: the job's markup and error alone are 67108864 bytes (max 1024)",
    });
  });

  it("skips a job without a webhook URL even when its body is too large", () => {
    expect(planDelivery({ ...job, webhookUrl: null, unreadBody: { reason: "too_large", bytes: 5000 } }, limits)).toEqual({ kind: "skip", reason: "no_webhook_url" });
  });
});
