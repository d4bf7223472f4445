import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import type { ListenForOutbox } from "../../src/ports/database.ts";
import { bodyLimits, capturingLogger, finishedJob, outboxPollerWithoutSlots } from "../support/app-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

const stops: AbortController[] = [];
afterEach(() => stops.splice(0).forEach((stop) => stop.abort()));

/** A listen that fails `failures` times, then hands out its wake-up and counts the stops. */
function fakeListen(failures = 0) {
  const state = { attempts: 0, stopped: 0, wake: null as (() => void) | null };
  const listen: ListenForOutbox = async (onAppended) => {
    state.attempts++;
    if (state.attempts <= failures) throw new Error("connection refused");
    state.wake = onAppended;
    return { stop: async () => void state.stopped++ };
  };
  return { listen, state };
}

function setup(listen: ListenForOutbox) {
  const db = createMemoryDatabase();
  // Counts the poller's looks (one transaction each) and runs `after` when one has ended.
  const looks = { count: 0, after: async (_count: number) => {} };
  const transaction: typeof db.transaction = async (work) => {
    const result = await db.transaction(work);
    await looks.after(++looks.count);
    return result;
  };
  const logger = capturingLogger();
  const deps = { newId: randomUUID, now: systemClock.now, logger, bodyLimits };
  // A poll interval no test waits for: only a wake-up makes the poller look again.
  const poller = outboxPollerWithoutSlots(deps, transaction, { batchSize: 10, pollIntervalMs: 600_000, onDeliveriesCreated: () => {}, listen });
  const stop = new AbortController();
  stops.push(stop);
  const append = async () => {
    const job = finishedJob();
    db.putJob(job);
    await db.outbox.appendEvent({ jobId: job.id, event: "job.succeeded", traceId: null, now: systemClock.now() });
    return job.id;
  };
  const delivered = async (jobId: string) => (await db.deliveries.listDeliveriesForJob(jobId)).length === 1;
  return { poller, stop, append, delivered, logger, looks };
}

describe("the outbox poller, listening", () => {
  it("looks at once when the database says rows were committed, not at its next poll, and stops listening on shutdown", async () => {
    const { listen, state } = fakeListen();
    const { poller, stop, append, delivered } = setup(listen);
    const running = poller.run(stop.signal);
    await waitFor("listening", () => state.wake !== null);
    const jobId = await append();
    state.wake!();
    await waitFor("the row's delivery, long before the poll interval", () => delivered(jobId), { timeoutMs: 2_000 });
    stop.abort();
    await running;
    expect(state.stopped).toBe(1);
  });

  it("keeps polling while listening cannot start, and tries again until it does", async () => {
    const { listen, state } = fakeListen(1);
    const { poller, stop, append, delivered, logger } = setup(listen);
    const jobId = await append();
    const running = poller.run(stop.signal);
    await waitFor("the row found by the first poll, with listening down", () => delivered(jobId));
    expect(logger.lines.join("\n")).toContain("could not listen for outbox rows; polling meanwhile");
    await waitFor("listening, after a second try", () => state.wake !== null, { timeoutMs: 5_000 });
    const next = await append();
    state.wake!();
    await waitFor("a committed row found at once", () => delivered(next), { timeoutMs: 2_000 });
    stop.abort();
    await running;
    expect(state.attempts).toBe(2);
  });

  it("looks once more shortly after a batch that was not full, finding a row whose transaction did not notify", async () => {
    const { listen, state } = fakeListen();
    const { poller, stop, append, delivered, looks } = setup(listen);
    let quiet: string | null = null;
    // Looks: 1 at start, empty; 2 after the wake-up, finds the row. Right after it a row is committed
    // without a notification, as by a transaction that did not get the notify lock.
    looks.after = async (count) => {
      if (count === 2) quiet = await append();
    };
    const running = poller.run(stop.signal);
    await waitFor("listening", () => state.wake !== null);
    await waitFor("the first, empty look", () => looks.count === 1);
    const first = await append();
    state.wake!();
    await waitFor("the notified row's delivery", () => delivered(first));
    await waitFor("the row committed after that look", () => quiet !== null);
    await waitFor("the quiet row found by the follow-up look, long before the poll interval", () => delivered(quiet!), { timeoutMs: 2_000 });
    stop.abort();
    await running;
  });
});
