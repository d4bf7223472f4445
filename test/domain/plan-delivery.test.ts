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

describe("planDelivery", () => {
  it("delivers a finished job's payload to its trimmed webhook URL", () => {
    expect(planDelivery(job)).toEqual({ kind: "deliver", url: "https://example.com/hook", payload: buildWebhookPayload(job) });
  });

  it("dead-letters an event whose job does not exist", () => {
    expect(planDelivery(undefined)).toEqual({ kind: "dead_letter", reason: "unknown_job" });
  });

  it("dead-letters an event whose job has not finished", () => {
    expect(planDelivery({ ...job, status: "running" })).toEqual({
      kind: "dead_letter",
      reason: "job_not_finished: status is running",
    });
  });

  it.each([null, "", "   "])("skips a job whose webhook URL is %j", (webhookUrl) => {
    expect(planDelivery({ ...job, webhookUrl })).toEqual({ kind: "skip", reason: "no_webhook_url" });
  });

  it("leaves an invalid URL to be judged at send time", () => {
    expect(planDelivery({ ...job, webhookUrl: "not a url" })).toMatchObject({ kind: "deliver", url: "not a url" });
  });
});
