import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { startSampleReceiver } from "../../scripts/sample-receiver.ts";
import { projectRoot, startDispatcherProcess } from "../support/dispatcher-process.ts";
import { createMigratedDatabase } from "../support/postgres.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKEN = "production-token-0123456789";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

describe("the production build", () => {
  it("compiles with npm run build, starts as plain JavaScript (node dist/main.js, no tsx) and delivers a verified webhook", async () => {
    await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: projectRoot, timeout: 180_000 });
    const database = await createMigratedDatabase(cleanups);
    const receiver = await startSampleReceiver({ secretFor: () => SECRET, reply: () => ({ status: 200 }) });
    cleanups.push(() => receiver.close());
    const dispatcher = await startDispatcherProcess({ env: { DATABASE_URL: database.url, ADMIN_TOKEN: TOKEN }, runtime: "compiled" });
    cleanups.push(() => dispatcher.stop("SIGKILL"));
    expect(dispatcher.child.spawnargs.join(" ")).toMatch(/dist\/main\.js$/);
    expect(dispatcher.child.spawnargs.join(" ")).not.toContain("tsx");

    const jobId = randomUUID();
    const event = { job_id: jobId, event: "job.succeeded", job: { status: "succeeded", finished_at: "2026-01-01T12:00:00Z", output_markup: "<story/>", webhook: { url: `${receiver.url}/hook`, secret: SECRET } } };
    const response = await fetch(`http://127.0.0.1:${dispatcher.port}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(event) });
    expect(response.status).toBe(202);
    const receipt = await waitFor("the webhook to arrive", () => receiver.receipts[0]);
    expect(receipt.verified.standardWebhooks).toBe(true);
    expect(JSON.parse(receipt.body.toString("utf8"))).toMatchObject({ job_id: jobId, status: "succeeded" });
    expect(await dispatcher.stop("SIGTERM")).toBe(0);
  }, 240_000);
});
