import { afterEach, describe, expect, it } from "vitest";
import type { Reply } from "../../scripts/sample-receiver.ts";
import { attemptsOf, deliveriesOf, startHarness, type Harness } from "../support/harness.ts";
import { waitFor } from "../support/wait-for.ts";

const replies: Record<string, (count: number) => Reply> = {
  "/ok": () => ({ status: 200, body: "ok" }),
  "/flaky": (count) => (count <= 2 ? { status: 500, body: "try later" } : { status: 200 }),
  "/reject": () => ({ status: 400, body: "no such endpoint" }),
  "/down": () => ({ status: 500, body: "down" }),
  "/slow-once": (count) => (count === 1 ? { status: 200, delayMs: 4_000 } : { status: 200 }),
};

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.stop();
  harness = null;
});

async function start(env: Record<string, string> = {}): Promise<Harness> {
  harness = await startHarness({ env, reply: (path, count) => (replies[path] ?? (() => ({ status: 404 })))(count) });
  harness.start();
  return harness;
}

async function finalDelivery(h: Harness, jobId: string) {
  return waitFor(`a final delivery for job ${jobId}`, async () => {
    const [row] = await deliveriesOf(h.sql, jobId);
    return row && row.status !== "pending" ? row : null;
  });
}

describe("delivery end to end on real Postgres", () => {
  it("delivers an outbox event as one signed POST that verifies with both schemes, and records it as sent", async () => {
    const h = await start();
    const jobId = await h.addJob("/ok");
    await h.publish(jobId);
    const delivery = await finalDelivery(h, jobId);
    expect(delivery).toMatchObject({ status: "sent", attempts: 1 });
    expect(h.receiver.receipts).toHaveLength(1);
    const [receipt] = h.receiver.receipts;
    expect(receipt?.verified).toEqual({ standardWebhooks: true, hexHmac: true });
    expect(JSON.parse(receipt!.body.toString())).toMatchObject({ job_id: jobId, status: "succeeded", output_markup: "<story/>" });
    expect(receipt?.headers["user-agent"]).toBe("Stories-Webhook/1.0");
    expect(receipt?.headers["webhook-timestamp"]).toBe(receipt?.headers["x-gs-timestamp"]);
    expect(await attemptsOf(h.sql, delivery.id)).toEqual([{ attempt_number: 1, status_code: 200, error_kind: null, outcome: "sent" }]);
  });

  it("retries a receiver that answers 500 twice and records the delivery as sent on the third attempt with the same webhook-id and body", async () => {
    const h = await start();
    const jobId = await h.addJob("/flaky", { status: "failed" });
    await h.publish(jobId, "job.failed");
    const delivery = await finalDelivery(h, jobId);
    expect(delivery).toMatchObject({ status: "sent", attempts: 3 });
    const attempts = await attemptsOf(h.sql, delivery.id);
    expect(attempts.map((a) => [a.status_code, a.outcome])).toEqual([[500, "retry"], [500, "retry"], [200, "sent"]]);
    const ids = new Set(h.receiver.receipts.map((r) => r.headers["webhook-id"]));
    const bodies = new Set(h.receiver.receipts.map((r) => r.body.toString("hex")));
    expect(ids.size).toBe(1);
    expect(bodies.size).toBe(1);
    expect(h.receiver.receipts.every((r) => r.verified.standardWebhooks && r.verified.hexHmac)).toBe(true);
  });

  it("fails a delivery after one attempt when the receiver answers 400", async () => {
    const h = await start();
    const jobId = await h.addJob("/reject");
    await h.publish(jobId);
    const delivery = await finalDelivery(h, jobId);
    expect(delivery).toMatchObject({ status: "failed", attempts: 1 });
    expect(delivery.last_error).toContain("400");
    expect(h.receiver.receipts).toHaveLength(1);
  });

  it("fails a delivery after exactly WEBHOOK_MAX_RETRIES attempts when the receiver always answers 500", async () => {
    const h = await start({ WEBHOOK_MAX_RETRIES: "4" });
    const jobId = await h.addJob("/down");
    await h.publish(jobId);
    const delivery = await finalDelivery(h, jobId);
    expect(delivery).toMatchObject({ status: "failed", attempts: 4 });
    expect(delivery.last_error).toMatch(/gave up after 4 attempts/);
    expect(h.receiver.receipts).toHaveLength(4);
    const attempts = await attemptsOf(h.sql, delivery.id);
    expect(attempts.map((a) => a.outcome)).toEqual(["retry", "retry", "retry", "failed"]);
  });

  it("cuts a receiver that answers slower than WEBHOOK_TIMEOUT at the deadline and retries it", async () => {
    const h = await start({ WEBHOOK_TIMEOUT: "1s" });
    const jobId = await h.addJob("/slow-once");
    await h.publish(jobId);
    const delivery = await finalDelivery(h, jobId);
    expect(delivery).toMatchObject({ status: "sent", attempts: 2 });
    const attempts = await attemptsOf(h.sql, delivery.id);
    expect(attempts.map((a) => [a.error_kind, a.outcome])).toEqual([["timeout", "retry"], [null, "sent"]]);
  });

  it("creates one delivery when the same event is published twice", async () => {
    const h = await start();
    const jobId = await h.addJob("/ok");
    await h.publish(jobId);
    await h.publish(jobId);
    await waitFor("both outbox rows processed", async () => {
      const [row] = await h.sql<{ count: number }[]>`select count(*)::int as count from webhook_outbox where processed_at is null`;
      return row?.count === 0;
    });
    await finalDelivery(h, jobId);
    expect(await deliveriesOf(h.sql, jobId)).toHaveLength(1);
    expect(h.receiver.receipts).toHaveLength(1);
  });

  it("skips a job without a webhook URL and dead-letters an event for an unknown job, with the reason", async () => {
    const h = await start();
    const withoutUrl = await h.addJob(null);
    const unknown = "6f1f8a52-8d0c-4d7b-9c44-0d6c2c6d1a11";
    await h.publish(withoutUrl);
    await h.publish(unknown);
    const [letter] = await waitFor("a dead letter", () => h.sql`select * from webhook_dead_letters`.then((rows) => (rows.length ? rows : null)));
    expect(letter).toMatchObject({ source: "outbox", reason: "unknown_job", job_id: unknown, event: "job.succeeded" });
    expect(await deliveriesOf(h.sql, withoutUrl)).toHaveLength(0);
    expect(h.logLines.some((line) => line.includes("no webhook URL") && line.includes(withoutUrl))).toBe(true);
  });
});
