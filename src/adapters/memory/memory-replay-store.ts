import { isUuid } from "../../domain/uuid.ts";
import type { Replay, ReplayBatch, ReplayFilter, ReplayStore } from "../../ports/replays.ts";
import { compare, matchesFilter, redriven } from "./memory-delivery-store.ts";
import type { MemoryState, StoredDelivery, StoredReplay } from "./memory-state.ts";

/** Replays over the fake's tables, with the Postgres adapter's semantics; each method is one synchronous step. */
export function makeMemoryReplayStore(state: MemoryState): ReplayStore {
  return {
    async matchReplay(filter, max) {
      const matching = matchingDeliveries(state, filter).slice(0, max + 1);
      return { count: matching.length, upperId: matching.length === 0 ? null : matching.map((d) => d.id).sort(compare).at(-1)! };
    },
    async createReplay({ id, filter, match, now }) {
      const done = match.upperId === null;
      const replay: StoredReplay = {
        id: id.toLowerCase(), status: done ? "completed" : "running", filter, matched: match.count, redriven: 0, skipped: 0,
        createdAt: now, updatedAt: now, finishedAt: done ? now : null, upperId: match.upperId, lastId: null,
      };
      state.tables.replays.set(replay.id, replay);
      return publicReplay(replay);
    },
    async getReplay(id) {
      const replay = isUuid(id) ? state.tables.replays.get(id.toLowerCase()) : undefined;
      return replay === undefined ? null : publicReplay(replay);
    },
    async cancelReplay({ id, now }) {
      const replay = isUuid(id) ? state.tables.replays.get(id.toLowerCase()) : undefined;
      if (replay === undefined) return { outcome: "not_found", replay: null };
      if (replay.status !== "running") return { outcome: "not_running", replay: publicReplay(replay) };
      const cancelled: StoredReplay = { ...replay, status: "cancelled", updatedAt: now, finishedAt: now };
      state.tables.replays.set(replay.id, cancelled);
      return { outcome: "cancelled", replay: publicReplay(cancelled) };
    },
    advanceReplay: async ({ now, batchSize, maxDue }) => advanceReplay(state, now, batchSize, maxDue),
  };
}

function advanceReplay(state: MemoryState, now: Date, batchSize: number, maxDue: number): ReplayBatch | null {
  const replay = [...state.tables.replays.values()]
    .filter((r) => r.status === "running")
    .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || compare(a.id, b.id))[0];
  if (replay === undefined) return null;
  const due = [...state.tables.deliveries.values()].filter((d) => d.status === "pending" && d.nextAttemptAt !== null && d.nextAttemptAt <= now);
  if (due.length >= maxDue) return { replay: publicReplay(replay), waited: true, redriven: 0, skipped: 0, done: false };
  const batch = matchingDeliveries(state, replay.filter)
    .filter((d) => d.id <= replay.upperId! && (replay.lastId === null || d.id > replay.lastId))
    .sort((a, b) => compare(a.id, b.id))
    .slice(0, batchSize);
  let count = 0;
  for (const d of batch) {
    const after = redriven(d, now);
    if (after === null) continue;
    state.tables.deliveries.set(d.id, after);
    state.tables.operatorActions.push({ deliveryId: d.id, action: "replay", result: "redriven", createdAt: now, replayId: replay.id });
    count++;
  }
  const done = batch.length < batchSize;
  const skipped = batch.length - count;
  const next: StoredReplay = {
    ...replay,
    lastId: batch.at(-1)?.id ?? replay.lastId,
    redriven: replay.redriven + count,
    skipped: replay.skipped + skipped,
    status: done ? "completed" : "running",
    finishedAt: done ? now : null,
    updatedAt: now,
  };
  state.tables.replays.set(replay.id, next);
  return { replay: publicReplay(next), waited: false, redriven: count, skipped, done };
}

function matchingDeliveries(state: MemoryState, filter: ReplayFilter): StoredDelivery[] {
  return [...state.tables.deliveries.values()].filter((d) => matchesFilter(d, filter));
}

function publicReplay(replay: StoredReplay): Replay {
  const { upperId: _upper, lastId: _last, ...rest } = replay;
  return { ...rest, filter: { ...rest.filter } };
}
