import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { createMemoryDatabase, type MemoryDatabase } from "../../src/adapters/memory/memory-database.ts";
import { acceptEvents } from "../../src/app/accept-events.ts";
import { createScheduler, type Scheduler, type SchedulerOptions } from "../../src/app/scheduler.ts";
import { noopLogger } from "../../src/ports/logger.ts";
import type { ClaimedDelivery } from "../../src/ports/delivery-store.ts";
import { systemClock } from "../../src/adapters/system-clock.ts";
import { bodyLimits, capturingLogger, finishedJob } from "../support/app-fixtures.ts";
import { waitFor } from "../support/wait-for.ts";

async function withDeliveries(db: MemoryDatabase, count: number, webhookUrl = "https://receiver.example/hook"): Promise<void> {
  const jobs = Array.from({ length: count }, () => finishedJob({ webhookUrl }));
  jobs.forEach((job) => db.putJob(job));
  await db.transaction((tx) =>
    acceptEvents(
      { newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits },
      tx,
      jobs.map((job) => ({ value: { job_id: job.id, event: "job.succeeded" }, origin: { source: "api" } as const })),
    ),
  );
}

/** A deliver function that completes each delivery as sent, optionally held until released. */
function completingDeliver(db: MemoryDatabase, options: { hold?: boolean } = {}) {
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const delivered: string[] = [];
  const deliver = async (d: ClaimedDelivery) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    if (options.hold) await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight--;
    const now = systemClock.now();
    await db.deliveries.completeAttempt({
      deliveryId: d.id,
      leaseToken: d.leaseToken,
      attempt: { deliveryId: d.id, attemptNumber: d.attempts + 1, startedAt: now, durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" },
      next: { kind: "sent" },
    });
    delivered.push(d.id);
  };
  return { deliver, delivered, releaseAll: () => waiting.splice(0).forEach((r) => r()), stats: () => ({ inFlight, maxInFlight, waiting: waiting.length }) };
}

/** The memory store, counting the leases given back. */
function countingReleases(db: MemoryDatabase) {
  const counting = {
    ...db.deliveries,
    releases: 0,
    statements: 0,
    releaseLeases: (params: Parameters<typeof db.deliveries.releaseLeases>[0]) => {
      counting.releases += params.leases.length;
      counting.statements++;
      return db.deliveries.releaseLeases(params);
    },
  };
  return counting;
}

const controllers: AbortController[] = [];
afterEach(() => controllers.splice(0).forEach((c) => c.abort()));

/** Runs the scheduler until the test aborts it (or the test ends). */
function runInBackground(scheduler: Scheduler) {
  const controller = new AbortController();
  controllers.push(controller);
  return { controller, running: scheduler.run(controller.signal) };
}

function options(db: MemoryDatabase, deliver: SchedulerOptions["deliver"], overrides: Partial<SchedulerOptions> = {}): SchedulerOptions {
  return { deliveries: db.deliveries, deliver, clock: systemClock, logger: noopLogger, concurrency: 4, leaseMs: 60_000, pollIntervalMs: 60_000, ...overrides };
}

describe("scheduler", () => {
  it("runOnce claims at most `concurrency` due deliveries and waits for each attempt", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 6);
    const worker = completingDeliver(db);
    const scheduler = createScheduler(options(db, worker.deliver));
    expect(await scheduler.runOnce()).toBe(4);
    expect(worker.delivered).toHaveLength(4);
    expect(await scheduler.runOnce()).toBe(2);
    expect(await scheduler.runOnce()).toBe(0);
  });

  it("never has more attempts in flight than its concurrency", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 10);
    const worker = completingDeliver(db, { hold: true });
    const scheduler = createScheduler(options(db, worker.deliver, { concurrency: 3 }));
    const { controller, running } = runInBackground(scheduler);
    for (let released = 0; worker.delivered.length < 10; ) {
      await waitFor("attempts waiting", () => worker.stats().waiting > 0 || worker.delivered.length === 10);
      expect(worker.stats().inFlight).toBeLessThanOrEqual(3);
      released += worker.stats().waiting;
      worker.releaseAll();
      await waitFor("released attempts to complete", () => worker.delivered.length >= Math.min(released, 10));
    }
    expect(worker.stats().maxInFlight).toBeLessThanOrEqual(3);
    controller.abort();
    await running;
  });

  it("wakes at once when work is created in-process, despite a long poll interval", async () => {
    const db = createMemoryDatabase();
    const worker = completingDeliver(db);
    const scheduler = createScheduler(options(db, worker.deliver, { pollIntervalMs: 60_000 }));
    const { controller, running } = runInBackground(scheduler);
    await waitFor("the scheduler to go to sleep", async () => (await db.deliveries.nextDueAt()) === null);
    await withDeliveries(db, 1);
    scheduler.wake();
    await waitFor("the new delivery to be attempted", () => worker.delivered.length === 1, { timeoutMs: 2_000 });
    controller.abort();
    await running;
  });

  it("on shutdown stops claiming, waits for attempts in flight, and gives back the leases of those that do not finish in time", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 2);
    let claims = 0;
    const counting = { ...db.deliveries, claimDueDeliveries: (params: Parameters<typeof db.deliveries.claimDueDeliveries>[0]) => (claims++, db.deliveries.claimDueDeliveries(params)) };
    // Attempts held until the test lets them finish; each then tries to record itself, and its result is kept.
    const held: (() => void)[] = [];
    const recorded: Promise<boolean>[] = [];
    const deliver = (d: ClaimedDelivery) => {
      const finished = new Promise<void>((resolve) => held.push(resolve)).then(() =>
        db.deliveries.completeAttempt({
          deliveryId: d.id,
          leaseToken: d.leaseToken,
          attempt: { deliveryId: d.id, attemptNumber: 1, startedAt: systemClock.now(), durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" },
          next: { kind: "sent" },
        }),
      );
      recorded.push(finished);
      return finished;
    };
    const scheduler = createScheduler(options(db, deliver, { deliveries: counting, drainTimeoutMs: 50, pollIntervalMs: 20 }));
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    await waitFor("two attempts in flight", () => held.length === 2);
    controller.abort();
    await running;
    const claimsAtShutdown = claims;

    // Stopped claiming: work created after shutdown stays due, through several poll intervals.
    await withDeliveries(db, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(claims).toBe(claimsAtShutdown);

    // The two unfinished attempts' leases were given back: another worker claims them at once.
    const reclaimed = await db.deliveries.claimDueDeliveries({ now: systemClock.now(), limit: 10, leaseMs: 60_000 });
    expect(reclaimed).toHaveLength(3);
    // The late attempts finish now: their writes are fenced off, and the deliveries stay the new worker's.
    held.splice(0).forEach((finish) => finish());
    expect(await Promise.all(recorded)).toEqual([false, false]);
    for (const d of reclaimed) expect((await db.deliveries.getDelivery(d.id))?.delivery).toMatchObject({ status: "pending", attempts: 0 });
  });

  it("keeps running after the database fails a claim, and claims again", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 1);
    const worker = completingDeliver(db);
    const logger = capturingLogger();
    let failures = 1;
    const flaky = {
      ...db.deliveries,
      claimDueDeliveries: (params: Parameters<typeof db.deliveries.claimDueDeliveries>[0]) =>
        failures-- > 0 ? Promise.reject(Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" })) : db.deliveries.claimDueDeliveries(params),
    };
    const scheduler = createScheduler(options(db, worker.deliver, { deliveries: flaky, logger }));
    const { controller, running } = runInBackground(scheduler);
    await waitFor("the delivery to be attempted after the failed claim", () => worker.delivered.length === 1);
    expect(logger.lines.some((line) => line.includes("could not claim due deliveries") && line.includes("ECONNREFUSED"))).toBe(true);
    controller.abort();
    await running;
  });
});

describe("scheduler, per-destination limit", () => {
  it("keeps delivering to other destinations while one destination holds its whole limit", async () => {
    const db = createMemoryDatabase();
    const slowJobs = Array.from({ length: 10 }, () => finishedJob({ webhookUrl: "https://slow.example/hook" }));
    const fastJobs = Array.from({ length: 3 }, () => finishedJob({ webhookUrl: "https://fast.example/hook" }));
    [...slowJobs, ...fastJobs].forEach((job) => db.putJob(job));
    // The slow destination's deliveries are the oldest, so they are claimed first.
    for (const jobs of [slowJobs, fastJobs]) {
      await db.transaction((tx) =>
        acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx,
          jobs.map((job) => ({ value: { job_id: job.id, event: "job.succeeded" }, origin: { source: "api" } as const }))),
      );
    }
    const held: (() => void)[] = [];
    const byDestination = { slow: 0, fast: 0 };
    const deliver = async (d: ClaimedDelivery) => {
      if (d.url.includes("slow")) {
        byDestination.slow++;
        await new Promise<void>((resolve) => held.push(resolve));
        return;
      }
      byDestination.fast++;
      const now = systemClock.now();
      await db.deliveries.completeAttempt({
        deliveryId: d.id,
        leaseToken: d.leaseToken,
        attempt: { deliveryId: d.id, attemptNumber: 1, startedAt: now, durationMs: 1, statusCode: 200, errorKind: null, errorMessage: null, responseBody: null, location: null, outcome: "sent" },
        next: { kind: "sent" },
      });
    };
    const scheduler = createScheduler(options(db, deliver, { concurrency: 4, perDestinationConcurrency: 2, pollIntervalMs: 50 }));
    const controller = new AbortController();
    const running = scheduler.run(controller.signal);
    await waitFor("the healthy destination's deliveries", () => byDestination.fast === 3);
    expect(byDestination.slow).toBe(2);
    controller.abort();
    held.forEach((release) => release());
    await running;
  });
});

describe("scheduler, waiting for a destination", () => {
  it("keeps a delivery whose destination is busy and starts it when that destination's slot frees, giving back only what exceeds the limit", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 3); // all to https://receiver.example/hook
    const counting = countingReleases(db);
    const worker = completingDeliver(db, { hold: true });
    const scheduler = createScheduler(options(db, worker.deliver, { deliveries: counting, concurrency: 4, perDestinationConcurrency: 1 }));
    const { controller, running } = runInBackground(scheduler);
    await waitFor("one attempt in flight", () => worker.stats().waiting === 1);
    await waitFor("the delivery over the limit to be given back", () => counting.releases === 1);
    worker.releaseAll();
    await waitFor("the waiting delivery to start", () => worker.stats().waiting === 1 && worker.delivered.length === 1);
    expect(worker.stats().maxInFlight).toBe(1);
    worker.releaseAll();
    await waitFor("both attempts done", () => worker.delivered.length === 2);
    controller.abort();
    await running;
  });
});

describe("scheduler, a backlog for one full destination", () => {
  it("does not claim and give back the same destination's backlog over and over while its slots are full", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 200); // all to https://receiver.example/hook
    const counting = countingReleases(db);
    const worker = completingDeliver(db);
    const slowDeliver = async (d: ClaimedDelivery) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await worker.deliver(d);
    };
    const scheduler = createScheduler(options(db, slowDeliver, { deliveries: counting, concurrency: 8, perDestinationConcurrency: 2 }));
    const { controller, running } = runInBackground(scheduler);
    await waitFor("40 deliveries", () => worker.delivered.length >= 40);
    controller.abort();
    await running;
    // 8 slots, 2 in flight and 2 waiting: the first claim gives 4 back; claiming the whole free
    // capacity again after every completion would give back hundreds.
    expect(counting.releases).toBeLessThanOrEqual(8);
  });

  it("gives back what a claim returned beyond a destination's room in one statement, due a second later", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 8); // all to https://receiver.example/hook
    const counting = countingReleases(db);
    const worker = completingDeliver(db, { hold: true });
    const scheduler = createScheduler(options(db, worker.deliver, { deliveries: counting, concurrency: 8, perDestinationConcurrency: 2 }));
    const { controller, running } = runInBackground(scheduler);
    // 8 claimed: 2 in flight, 2 waiting, 4 given back together.
    await waitFor("the rows over the limit to be given back", () => counting.releases === 4);
    expect(counting.statements).toBe(1);
    const due = await db.deliveries.nextDueAt();
    expect(due!.getTime()).toBeGreaterThan(Date.now() + 500);
    controller.abort();
    worker.releaseAll();
    await running;
  });
});

describe("scheduler, a hanging destination's backlog", () => {
  it("reaches a healthy destination's deliveries within seconds while hundreds of a hanging destination's are due before them", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 300, "https://hangs.example/hook");
    await withDeliveries(db, 12, "https://healthy.example/hook");
    const hanging: (() => void)[] = [];
    const worker = completingDeliver(db);
    const deliver = async (d: ClaimedDelivery, freeDestination: () => void) => {
      if (d.url.startsWith("https://hangs.example/")) return new Promise<void>((resolve) => hanging.push(resolve));
      await new Promise((resolve) => setTimeout(resolve, 20));
      freeDestination();
      await worker.deliver(d);
    };
    const counting = countingReleases(db);
    const scheduler = createScheduler(options(db, deliver, { deliveries: counting, concurrency: 8, perDestinationConcurrency: 2 }));
    const { controller, running } = runInBackground(scheduler);
    // Given back a second at a time, the hanging destination's rows would stay due ahead of the
    // healthy ones and a claim would get through about 4 of them a second: over a minute.
    await waitFor("every healthy delivery", () => worker.delivered.length === 12, { timeoutMs: 5_000 });
    expect(hanging.length).toBe(2);
    // Each of the hanging destination's rows was given back about once, not over and over.
    expect(counting.releases).toBeLessThan(2 * 300);
    controller.abort();
    hanging.forEach((release) => release());
    await running;
  });
});

describe("scheduler, a destination's slot", () => {
  it("frees the destination's slot when the exchange with the receiver ends, before the attempt is recorded", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 3); // all to https://receiver.example/hook
    const recording: (() => void)[] = [];
    let exchanging = 0;
    let maxExchanging = 0;
    const deliver = async (d: ClaimedDelivery, freeDestination: () => void) => {
      exchanging++;
      maxExchanging = Math.max(maxExchanging, exchanging);
      await new Promise((resolve) => setTimeout(resolve, 5));
      exchanging--;
      freeDestination();
      // The write of the attempt is held until the test lets it finish.
      await new Promise<void>((resolve) => recording.push(resolve));
      await completingDeliver(db).deliver(d);
    };
    const scheduler = createScheduler(options(db, deliver, { concurrency: 4, perDestinationConcurrency: 1 }));
    const { controller, running } = runInBackground(scheduler);
    await waitFor("all three exchanges over while none is recorded yet", () => recording.length === 3);
    expect(maxExchanging).toBe(1);
    expect(scheduler.inFlight()).toBe(3);
    recording.splice(0).forEach((finish) => finish());
    await waitFor("all recorded", () => scheduler.inFlight() === 0);
    controller.abort();
    await running;
  });
});

describe("scheduler, deliveries created leased", () => {
  it("reserves no slot before its first claim or while the last claim filled every slot, since due work goes first", async () => {
    const db = createMemoryDatabase();
    await withDeliveries(db, 6);
    const worker = completingDeliver(db, { hold: true });
    const scheduler = createScheduler(options(db, worker.deliver, { concurrency: 4 }));
    expect(scheduler.reserve(4)).toBe(0);
    void scheduler.runOnce(); // claims 4 of 6: the backlog is not drained
    await waitFor("four in flight", () => worker.stats().waiting === 4);
    worker.releaseAll();
    await waitFor("four delivered", () => worker.delivered.length === 4);
    expect(scheduler.reserve(4)).toBe(0);
  });

  it("holds reserved slots against its concurrency, starts adopted deliveries and frees the slots they did not use", async () => {
    const db = createMemoryDatabase();
    const worker = completingDeliver(db, { hold: true });
    const scheduler = createScheduler(options(db, worker.deliver, { concurrency: 4 }));
    expect(await scheduler.runOnce()).toBe(0); // nothing due: the database has no backlog
    expect(scheduler.reserve(3)).toBe(3);
    expect(scheduler.reserve(3)).toBe(1);
    expect(scheduler.reserve(3)).toBe(0);
    const jobs = [finishedJob(), finishedJob()];
    jobs.forEach((job) => db.putJob(job));
    const result = await db.transaction((tx) =>
      acceptEvents({ newId: randomUUID, now: systemClock.now, logger: noopLogger, bodyLimits }, tx,
        jobs.map((job) => ({ value: { job_id: job.id, event: "job.succeeded" }, origin: { source: "api" } as const })), { count: 3, leaseMs: 60_000 }),
    );
    scheduler.adopt(3, result.leased);
    await waitFor("both adopted deliveries in flight", () => worker.stats().waiting === 2);
    expect(scheduler.inFlight()).toBe(2);
    // One reservation is still out (1 slot) and two attempts hold two: one slot is free.
    expect(scheduler.reserve(4)).toBe(1);
    scheduler.adopt(1, []);
    scheduler.adopt(1, []);
    worker.releaseAll();
    await waitFor("both delivered", () => worker.delivered.length === 2);
    expect(scheduler.reserve(4)).toBe(4);
  });
});

describe("scheduler, deliveries created leased, after a wake", () => {
  it("reserves nothing once due work was created in this process, until a claim finds no more due", async () => {
    const db = createMemoryDatabase();
    const worker = completingDeliver(db);
    const scheduler = createScheduler(options(db, worker.deliver, { concurrency: 4 }));
    expect(await scheduler.runOnce()).toBe(0);
    expect(scheduler.reserve(1)).toBe(1);
    scheduler.adopt(1, []);
    await withDeliveries(db, 1);
    scheduler.wake();
    expect(scheduler.reserve(1)).toBe(0);
    expect(await scheduler.runOnce()).toBe(1);
    expect(scheduler.reserve(1)).toBe(1);
    scheduler.adopt(1, []);
  });
});

describe("scheduler, a claim in flight", () => {
  it("counts a claim in flight against its slots, so an input cannot take them meanwhile", async () => {
    const db = createMemoryDatabase();
    const worker = completingDeliver(db, { hold: true });
    let slow = false;
    let finishClaim: () => void = () => {};
    const slowClaims = {
      ...db.deliveries,
      claimDueDeliveries: async (params: Parameters<typeof db.deliveries.claimDueDeliveries>[0]) => {
        if (slow) await new Promise<void>((resolve) => (finishClaim = resolve));
        return db.deliveries.claimDueDeliveries(params);
      },
    };
    const scheduler = createScheduler(options(db, worker.deliver, { deliveries: slowClaims, concurrency: 4 }));
    expect(await scheduler.runOnce()).toBe(0); // nothing due: inputs may reserve
    await withDeliveries(db, 2);
    slow = true;
    const claiming = scheduler.runOnce();
    expect(scheduler.reserve(1)).toBe(0); // the claim asked for all four slots
    finishClaim();
    await waitFor("both claimed deliveries in flight", () => worker.stats().waiting === 2);
    // The claim found less than it asked: nothing more is due, and two slots are free.
    expect(scheduler.reserve(4)).toBe(2);
    scheduler.adopt(2, []);
    worker.releaseAll();
    expect(await claiming).toBe(2);
  });
});
