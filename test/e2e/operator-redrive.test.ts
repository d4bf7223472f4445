import { afterEach, describe, expect, it } from "vitest";
import type { Reply } from "../../scripts/sample-receiver.ts";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { attemptsOf, deliveriesOf, startHarness, type Harness } from "../support/harness.ts";
import { waitFor } from "../support/wait-for.ts";
import { operatorParts } from "../support/operator-parts.ts";

const TOKEN = "admin-token-for-tests-0123";
let receiverUp = false;
const replies: Record<string, (count: number) => Reply> = {
  "/comes-back": () => (receiverUp ? { status: 200 } : { status: 503, body: "down for the night" }),
  "/ok": () => ({ status: 200 }),
  "/hangs": () => ({ status: 200, delayMs: 1_500 }),
};

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.stop();
  harness = null;
  receiverUp = false;
});

async function start() {
  const h = await startHarness({ env: { WEBHOOK_MAX_RETRIES: "2" }, reply: (path, count) => (replies[path] ?? (() => ({ status: 404 })))(count) });
  harness = h;
  h.start();
  const api = createAdminApi({ ...operatorParts(h.db), db: h.db, adminToken: TOKEN, clock: systemClock, logger: noopLogger, sources: () => [], onEventAppended: () => {} });
  const post = async (path: string, body?: unknown) => {
    const response = await api.request(path, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const delivery = async (jobId: string) => waitFor(`the delivery of ${jobId}`, async () => (await deliveriesOf(h.sql, jobId))[0] ?? null);
  return { h, post, delivery };
}

describe("operator re-drive end to end on real Postgres", () => {
  it("a delivery that failed while its receiver was down is retried through the API once the receiver is back, and is sent", async () => {
    const { h, post, delivery } = await start();
    const jobId = await h.addJob("/comes-back");
    await h.publish(jobId);
    const failed = await waitFor("the delivery to fail", async () => ((await delivery(jobId)).status === "failed" ? delivery(jobId) : null));
    expect(failed.attempts).toBe(2);
    receiverUp = true;
    expect((await post(`/v1/deliveries/${failed.id}/retry`)).status).toBe(200);
    h.dispatcher.scheduler.wake();
    await waitFor("the retried delivery to be sent", async () => (await delivery(jobId)).status === "sent");
    expect((await attemptsOf(h.sql, failed.id)).map((a) => [a.attempt_number, a.status_code, a.outcome])).toEqual([
      [1, 503, "retry"],
      [2, 503, "failed"],
      [3, 200, "sent"],
    ]);
  });

  it("a resend of a sent delivery arrives again with the same webhook-id and body, freshly signed", async () => {
    const { h, post, delivery } = await start();
    const jobId = await h.addJob("/ok");
    await h.publish(jobId);
    await waitFor("the delivery to be sent", async () => (await delivery(jobId)).status === "sent");
    const { id } = await delivery(jobId);
    expect((await post(`/v1/deliveries/${id}/retry`)).status).toBe(409);
    expect((await post(`/v1/deliveries/${id}/retry`, { resend: true })).status).toBe(200);
    h.dispatcher.scheduler.wake();
    await waitFor("the second receipt", () => h.receiver.receipts.length === 2);
    const [first, second] = h.receiver.receipts;
    expect(second!.headers["webhook-id"]).toBe(first!.headers["webhook-id"]);
    expect(second!.body.equals(first!.body)).toBe(true);
    expect(second!.verified).toEqual({ standardWebhooks: true, hexHmac: true });
    await waitFor("the resent delivery to be sent", async () => (await delivery(jobId)).status === "sent");
  });

  it("a cancel during a hanging attempt leaves the delivery failed/cancelled when the attempt ends", async () => {
    const { h, post, delivery } = await start();
    const jobId = await h.addJob("/hangs");
    await h.publish(jobId);
    // The receiver has the request and holds its answer for 1.5 s.
    await waitFor("the attempt to reach the receiver", () => h.receiver.receipts.length === 1);
    const { id } = await delivery(jobId);
    expect((await post(`/v1/deliveries/${id}/cancel`)).body).toMatchObject({ result: "cancelled" });
    await waitFor("the attempt to end", () => h.logLines.some((line) => line.includes("attempt not recorded")));
    expect(await delivery(jobId)).toMatchObject({ status: "failed", last_error: "cancelled", attempts: 0 });
    expect(await attemptsOf(h.sql, id)).toEqual([]);
  });
});
