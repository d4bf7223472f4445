import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/free-port.ts";
import { exitOf, onOutputLines, projectRoot } from "../../scripts/spawn-dispatcher.ts";
import { startDispatcherProcess } from "../support/dispatcher-process.ts";
import { waitFor } from "../support/wait-for.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const TOKEN = "quickstart-token-0123456789";
const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** `npm run receiver`, as the README's quick start starts it, in a process group of its own; its output lines. */
async function startReceiverScript(port: number): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn("npm", ["run", "--silent", "receiver"], {
    cwd: projectRoot,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", RECEIVER_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: string[] = [];
  onOutputLines(child, (line) => lines.push(line));
  const exited = exitOf(child);
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGTERM");
    await exited;
  });
  await waitFor("the receiver to listen", () => lines.some((line) => line.startsWith("sample receiver listening on")), { timeoutMs: 30_000 });
  return { child, lines };
}

describe("quick start on the embedded default", () => {
  it("turns one POST of an event carrying its job into a webhook the sample receiver verifies, with no DATABASE_URL", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "dispatcher-quick-start-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const receiverPort = await freePort();
    const receiver = await startReceiverScript(receiverPort);
    const dispatcher = await startDispatcherProcess({ env: { DATA_DIR: dataDir, ADMIN_TOKEN: TOKEN } });
    cleanups.push(() => dispatcher.stop("SIGTERM"));
    expect(dispatcher.lines.join("\n")).toContain(`embedded PGlite in ${dataDir}`);

    const jobId = randomUUID();
    const event = {
      job_id: jobId,
      event: "job.succeeded",
      trace_id: "quickstart",
      job: { status: "succeeded", finished_at: "2026-01-01T12:00:00Z", output_markup: "<story>Once upon a time…</story>", webhook: { url: `http://127.0.0.1:${receiverPort}/webhooks`, secret: SECRET } },
    };
    const response = await fetch(`http://127.0.0.1:${dispatcher.port}/v1/events`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(event),
    });
    expect(response.status).toBe(202);

    // The line after the verdict is the body; findIndex + 1 is 0 (keep waiting) until the verdict is printed.
    const bodyLine = await waitFor("the receiver to print a verified webhook", () => receiver.lines.findIndex((line) => line.includes("POST /webhooks") && line.endsWith("signature verified")) + 1);
    expect(JSON.parse(receiver.lines[bodyLine]!.trim())).toEqual({ job_id: jobId, status: "succeeded", finished_at: "2026-01-01T12:00:00.000Z", output_markup: "<story>Once upon a time…</story>" });
    expect(receiver.lines.join("\n")).not.toContain("NOT verified");
  });
});
