import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startHarness, TEST_SECRET, type Harness } from "../support/harness.ts";
import { waitFor } from "../support/wait-for.ts";

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.stop();
  harness = null;
});

describe("outbox rows that carry their job", () => {
  it("delivers a row a producer inserted with its job column, with no jobs row, signed with the job's secret", async () => {
    const h = (harness = await startHarness({ reply: () => ({ status: 200 }) }));
    h.start();
    const jobId = randomUUID();
    const job = { status: "succeeded", finished_at: "2026-01-01T12:00:00+02:00", output_markup: "<story>Il était une fois…</story>", webhook: { url: `${h.receiver.url}/carried`, secret: TEST_SECRET } };
    await h.sql`insert into webhook_outbox (job_id, event, trace_id, job) values (${jobId}, 'job.succeeded', 'trace-1', ${h.sql.json(job)})`;
    h.dispatcher.outboxPoller.wake();
    const receipt = await waitFor("the webhook", () => h.receiver.receipts[0]);
    expect(receipt.verified).toEqual({ standardWebhooks: true, hexHmac: true });
    expect(JSON.parse(receipt.body.toString())).toEqual({ job_id: jobId, status: "succeeded", finished_at: "2026-01-01T10:00:00.000Z", output_markup: job.output_markup });
    expect(await h.sql`select 1 from jobs`).toHaveLength(0);
  });

  it("dead-letters a row whose job is over WEBHOOK_MAX_PAYLOAD plus 64 KiB without reading it, and delivers the rows around it", async () => {
    const h = (harness = await startHarness({ env: { WEBHOOK_MAX_PAYLOAD: "1KiB" }, reply: () => ({ status: 200 }) }));
    const jobOf = (markup: string) => ({ status: "succeeded", finished_at: "2026-01-01T12:00:00Z", output_markup: markup, webhook: { url: `${h.receiver.url}/hook`, secret: TEST_SECRET } });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const markups = ["<story/>", "x".repeat(70 * 1024), "<story/>"];
    for (const [i, id] of ids.entries()) {
      await h.sql`insert into webhook_outbox (job_id, event, job) values (${id}, 'job.succeeded', ${h.sql.json(jobOf(markups[i]!))})`;
    }
    h.start();
    await waitFor("two webhooks", () => h.receiver.receipts.length === 2);
    const letters = await waitFor("the dead letter", async () => {
      const rows = await h.sql<{ source: string; reason: string }[]>`select source, reason from webhook_dead_letters`;
      return rows.length > 0 ? rows : null;
    });
    expect(letters).toEqual([{ source: "outbox", reason: expect.stringMatching(/^too_large: the job is \d+ bytes as JSON \(max 66560\)$/) }]);
    const pending = await h.sql`select 1 from webhook_outbox where processed_at is null`;
    expect(pending).toHaveLength(0);
  });
});
