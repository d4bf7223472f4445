import { afterEach, describe, expect, it } from "vitest";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createJsonLogger } from "../../src/adapters/json-logger.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { deliveriesOf, startHarness, TEST_SECRET, type Harness } from "../support/harness.ts";
import { waitFor } from "../support/wait-for.ts";
import { operatorParts } from "../support/operator-parts.ts";

let harness: Harness | null = null;
afterEach(async () => {
  await harness?.stop();
  harness = null;
});

const TOKEN = "admin-token-for-secret-tests";

describe("webhook secrets", () => {
  it("never appear in logs, API responses or stored attempts, whatever happens to the delivery", async () => {
    const plainSecret = "plain-secret-value-42";
    const h = (harness = await startHarness({
      env: { WEBHOOK_MAX_RETRIES: "2", LOG_LEVEL: "debug" },
      reply: (path) => ({ status: path === "/ok" ? 200 : path === "/reject" ? 400 : 500 }),
    }));
    h.start();
    const jobs = [
      await h.addJob("/ok"),
      await h.addJob("/reject", { secret: plainSecret }),
      await h.addJob("/error"),
      await h.addJob("/ok", { secret: "bad secret\twith whitespace" }),
    ];
    for (const jobId of jobs) await h.publish(jobId);
    await waitFor("every delivery to be final", async () => {
      const rows = (await Promise.all(jobs.map((id) => deliveriesOf(h.sql, id)))).flat();
      return rows.length === 4 && rows.every((row) => row.status !== "pending");
    });

    const apiLog: string[] = [];
    const api = createAdminApi({ ...operatorParts(h.db),
      db: h.db,
      adminToken: TOKEN,
      clock: systemClock,
      logger: createJsonLogger({ level: "debug", write: (line) => apiLog.push(line) }),
      sources: () => [],
      onEventAppended: () => {},
    });
    const responses: string[] = [];
    for (const jobId of jobs) {
      const list = await api.request(`/v1/jobs/${jobId}/deliveries`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const text = await list.text();
      responses.push(text);
      for (const delivery of JSON.parse(text).deliveries as { id: string }[]) {
        responses.push(await (await api.request(`/v1/deliveries/${delivery.id}`, { headers: { authorization: `Bearer ${TOKEN}` } })).text());
      }
    }
    const stored = await h.sql`select d.*, a.* from webhook_deliveries d left join webhook_delivery_attempts a on a.delivery_id = d.id`;
    const everything = [...h.logLines, ...apiLog, ...responses, JSON.stringify(stored)].join("\n");
    for (const secret of [TEST_SECRET, TEST_SECRET.slice("whsec_".length), plainSecret, "bad secret"]) {
      expect(everything).not.toContain(secret);
    }
    expect(h.logLines.length).toBeGreaterThan(4);
  });

  it("refuses a secret with whitespace or control characters with a clear reason, and never sends the webhook", async () => {
    const h = (harness = await startHarness({ reply: () => ({ status: 200 }) }));
    h.start();
    const jobId = await h.addJob("/ok", { secret: "line\nbreak" });
    await h.publish(jobId);
    const delivery = await waitFor("the delivery to fail", async () => {
      const [row] = await deliveriesOf(h.sql, jobId);
      return row?.status === "failed" ? row : null;
    });
    expect(delivery.last_error).toBe("invalid_secret: secret contains whitespace or control characters; nothing was sent");
    expect(delivery.attempts).toBe(1);
    expect(h.receiver.receipts).toHaveLength(0);
  });
});
