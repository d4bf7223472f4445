import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver } from "../../scripts/sample-receiver.ts";
import { createAdminApi } from "../../src/adapters/api/admin-api.ts";
import { createUndiciSender } from "../../src/adapters/http/undici-sender.ts";
import { createPinoLogger } from "../../src/adapters/pino-logger.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { nodeCryptoHmacSha256 } from "../../src/adapters/node-crypto-hmac.ts";
import { parseConfig } from "../../src/app/config.ts";
import { wireDispatcher } from "../../src/app/wire.ts";
import { TEST_SECRET } from "../support/harness.ts";
import { createProxiedDatabase } from "../support/tcp-proxy.ts";
import { waitFor } from "../support/wait-for.ts";
import { operatorParts } from "../support/operator-parts.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("database outage", () => {
  it("keeps running while the database is unreachable, reports not ready, and delivers everything once it returns", async () => {
    const { proxy, direct, db, viaProxyUrl } = await createProxiedDatabase(cleanups);

    const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());
    const parsed = parseConfig({ DATABASE_URL: viaProxyUrl, POLL_INTERVAL: "100ms", WEBHOOK_RETRY_JITTER: "0", WEBHOOK_ALLOWED_CIDRS: "127.0.0.0/8" });
    if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
    const logLines: string[] = [];
    const sender = createUndiciSender({ policy: parsed.config.destinationPolicy });
    cleanups.push(() => sender.close());
    const dispatcher = wireDispatcher({
      config: parsed.config,
      db,
      sender,
      hmac: nodeCryptoHmacSha256,
      clock: systemClock,
      random: Math.random,
      newId: randomUUID,
      logger: createPinoLogger({ level: "debug", destination: { write: (line) => logLines.push(line) } }),
    });
    const api = createAdminApi({ ...operatorParts(db),
      db,
      adminToken: null,
      clock: systemClock,
      logger: createPinoLogger({ level: "error", destination: { write: () => {} } }),
      sources: () => dispatcher.sources.map((s) => ({ name: s.name, ...s.readiness() })),
      onEventAppended: () => {},
    });
    const controller = new AbortController();
    const running = dispatcher.run(controller.signal);
    cleanups.push(async () => {
      controller.abort();
      await running;
    });

    const publish = async (count: number) => {
      const ids = Array.from({ length: count }, () => randomUUID());
      await direct`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
                    select id, 'succeeded', now(), 'x', ${receiver.url + "/hook"}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
      await direct`insert into webhook_outbox (job_id, event) select id, 'job.succeeded' from unnest(${ids}::uuid[]) as id`;
    };
    const sentCount = async () => (await direct<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent'`)[0]!.n;

    await publish(5);
    await waitFor("the first five deliveries", async () => (await sentCount()) === 5);

    await proxy.cut();
    await publish(20);
    const notReady = await waitFor("/readyz to report the outage", async () => {
      const response = await api.request("/readyz");
      return response.status === 503 ? ((await response.json()) as { reasons: string[] }) : null;
    });
    expect(notReady.reasons.some((reason) => reason.startsWith("database:"))).toBe(true);
    await waitFor("the outage to be logged", () => logLines.some((line) => line.includes("retrying")));
    expect(await sentCount()).toBe(5);

    await proxy.restore();
    await waitFor("every delivery after the outage", async () => (await sentCount()) === 25, { timeoutMs: 30_000 });
    expect((await api.request("/readyz")).status).toBe(200);
    expect(new Set(receiver.receipts.map((r) => r.headers["webhook-id"])).size).toBe(25);
    expect(receiver.receipts).toHaveLength(25);
  });
});
