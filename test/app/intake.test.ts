import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createMemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { createIntake, type IntakeBatch, type IntakeSlots } from "../../src/app/intake.ts";
import type { ClaimedDelivery } from "../../src/ports/delivery-store.ts";
import type { IncomingEvent } from "../../src/ports/event-source.ts";
import { DataRefusedError, type RunInTransaction } from "../../src/ports/transactor.ts";
import { bodyLimits, capturingLogger, finishedJob, manualClock } from "../support/app-fixtures.ts";

const api = { source: "api" } as const;

/**
 * Transactions over `inner` that wait before committing until released. `carried[n]` lists the
 * batches whose `take` ran in the n-th transaction; `atCommit(n)` resolves once its work is done.
 */
function gatedTransactions(inner: RunInTransaction) {
  const carried: string[][] = [];
  const gates: { reached: Promise<void>; reach: () => void; open: Promise<void>; release: () => void }[] = [];
  const gate = (n: number) => {
    while (gates.length <= n) {
      let reach = () => {};
      let release = () => {};
      const reached = new Promise<void>((resolve) => (reach = resolve));
      const open = new Promise<void>((resolve) => (release = resolve));
      gates.push({ reached, reach, open, release });
    }
    return gates[n]!;
  };
  const transaction: RunInTransaction = (work) => {
    const n = carried.push([]) - 1;
    return inner(async (tx) => {
      const result = await work(tx);
      gate(n).reach();
      await gate(n).open;
      return result;
    });
  };
  return { transaction, carried, atCommit: (n: number) => gate(n).reached, release: (n: number) => gate(n).release() };
}

/** Slots as the scheduler keeps them: reserved ones are either adopted by a delivery or freed. */
function countedSlots(free: number): IntakeSlots & { free(): number; started: ClaimedDelivery[] } {
  let available = free;
  const started: ClaimedDelivery[] = [];
  return {
    started,
    free: () => available,
    reserve: (max) => {
      const taken = Math.min(max, available);
      available -= taken;
      return taken;
    },
    adopt: (reserved, deliveries) => {
      started.push(...deliveries);
      available += reserved - deliveries.length;
    },
    wake: () => {},
  };
}

function intakeOver(options: { freeSlots?: number; maxGroupEvents?: number } = {}) {
  const db = createMemoryDatabase();
  const gated = gatedTransactions(db.transaction);
  const slots = countedSlots(options.freeSlots ?? 0);
  const intake = createIntake({
    transaction: gated.transaction,
    accept: { newId: randomUUID, now: manualClock().now, logger: capturingLogger(), bodyLimits },
    slots,
    leaseMs: 60_000,
    maxGroupEvents: options.maxGroupEvents,
  });
  /** A batch labelled `label` of one event per job, each job new unless given. */
  const batch = (label: string, jobs = 1, take?: (events: IncomingEvent[]) => IncomingEvent[]): IntakeBatch => {
    const events = Array.from({ length: jobs }, () => {
      const job = finishedJob();
      db.putJob(job);
      return { value: { job_id: job.id, event: "job.succeeded" }, origin: api };
    });
    return {
      maxEvents: jobs,
      take: async () => {
        gated.carried.at(-1)!.push(label);
        return take ? take(events) : events;
      },
    };
  };
  return { db, gated, slots, intake, batch };
}

const refused = () => {
  throw new DataRefusedError("22P05", "unsupported Unicode escape sequence");
};

describe("group-commit intake", () => {
  it("takes a lone batch at once, in a transaction of its own", async () => {
    const { gated, intake, batch } = intakeOver();
    const result = intake(batch("a", 2));
    await gated.atCommit(0);
    expect(gated.carried).toEqual([["a"]]);
    gated.release(0);
    expect(await result).toMatchObject({ created: 2, taken: 2 });
  });

  it("puts the batches that arrive during a transaction together in the next one, each with its own result", async () => {
    const { gated, intake, batch } = intakeOver();
    const first = intake(batch("a", 1));
    await gated.atCommit(0);
    const second = intake(batch("b", 2));
    const third = intake(batch("c", 3, (events) => [...events, events[0]!]));
    gated.release(0);
    await gated.atCommit(1);
    expect(gated.carried).toEqual([["a"], ["b", "c"]]);
    gated.release(1);
    expect(await first).toMatchObject({ created: 1, duplicates: 0, taken: 1 });
    expect(await second).toMatchObject({ created: 2, duplicates: 0, taken: 2 });
    expect(await third).toMatchObject({ created: 3, duplicates: 1, taken: 4 });
  });

  it("carries no more waiting batches in one transaction than fit in maxGroupEvents; a larger batch goes alone", async () => {
    const { gated, intake, batch } = intakeOver({ maxGroupEvents: 4 });
    const all = [intake(batch("a", 1))];
    await gated.atCommit(0);
    all.push(intake(batch("b", 2)), intake(batch("c", 2)), intake(batch("d", 5)), intake(batch("e", 1)));
    for (let n = 0; n < 4; n++) {
      await gated.atCommit(n);
      gated.release(n);
    }
    await Promise.all(all);
    expect(gated.carried).toEqual([["a"], ["b", "c"], ["d"], ["e"]]);
  });

  it("gives each batch of a shared transaction its own leased deliveries, and every free slot to the first deliverable events", async () => {
    const { gated, intake, batch, slots } = intakeOver({ freeSlots: 3 });
    const first = intake(batch("a", 1));
    await gated.atCommit(0);
    const second = intake(batch("b", 1));
    const third = intake(batch("c", 2));
    gated.release(0);
    await first;
    await gated.atCommit(1);
    gated.release(1);
    const [b, c] = [await second, await third];
    expect(b.leased).toHaveLength(1);
    expect(c.leased).toHaveLength(1);
    expect(slots.started.map((d) => d.id)).toEqual([...(await first).leased, ...b.leased, ...c.leased].map((d) => d.id));
    expect(slots.free()).toBe(0);
  });

  it("runs each batch of a failed shared transaction again alone: the good ones are accepted and the bad one gets its own error", async () => {
    const { db, gated, intake, batch, slots } = intakeOver({ freeSlots: 2 });
    const first = intake(batch("a", 1));
    await gated.atCommit(0);
    const good = batch("good", 2);
    const goodResult = intake(good);
    const badResult = intake(batch("bad", 1, refused));
    const later = intake(batch("later", 1));
    gated.release(0);
    await first;
    expect(slots.free()).toBe(1);
    // The shared transaction fails in the bad batch's take: the later batch's is never reached.
    await gated.atCommit(2);
    expect(gated.carried.slice(1, 3)).toEqual([["good", "bad"], ["good"]]);
    gated.release(2);
    expect(await goodResult).toMatchObject({ created: 2, taken: 2 });
    await expect(badResult).rejects.toBeInstanceOf(DataRefusedError);
    await gated.atCommit(4);
    gated.release(4);
    expect(await later).toMatchObject({ created: 1, taken: 1 });
    expect(gated.carried.slice(3)).toEqual([["bad"], ["later"]]);
    // The shared transaction's slots were freed; the good batch's retry leased the one left.
    expect(slots.started).toHaveLength(2);
    expect(slots.free()).toBe(0);
    expect(await db.deliveries.listDeliveries({ filter: {}, limit: 10 })).toHaveLength(4);
  });

  it("frees the slots reserved for a lone batch whose transaction fails, and takes the next batch normally", async () => {
    const { gated, intake, batch, slots } = intakeOver({ freeSlots: 4 });
    await expect(intake(batch("bad", 2, refused))).rejects.toBeInstanceOf(DataRefusedError);
    expect(gated.carried).toEqual([["bad"]]);
    expect(slots.free()).toBe(4);
    const next = intake(batch("next", 1));
    await gated.atCommit(1);
    gated.release(1);
    expect((await next).leased).toHaveLength(1);
    expect(slots.free()).toBe(3);
  });
});
