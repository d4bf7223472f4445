import { reasonCodeOf } from "../domain/metric-labels.ts";
import type { Database } from "../ports/database.ts";
import type { DeadLetter } from "../ports/dead-letters.ts";
import type { Metrics } from "../ports/metrics.ts";

/**
 * The database, with the dead letters written in each transaction counted once it commits (a
 * transaction that rolls back counts none), by input and reason code. Every input writes its dead
 * letters through here, so the count is whole without each one counting.
 */
export function countingDeadLetters(db: Database, metrics: Metrics): Database {
  return {
    ...db,
    transaction: async (work) => {
      const written: DeadLetter[] = [];
      const result = await db.transaction((tx) =>
        work({
          ...tx,
          deadLetters: {
            ...tx.deadLetters,
            recordDeadLetters: async (rows) => {
              await tx.deadLetters.recordDeadLetters(rows);
              written.push(...rows);
            },
          },
        }),
      );
      countByLabels(metrics, written);
      return result;
    },
  };
}

function countByLabels(metrics: Metrics, letters: readonly DeadLetter[]): void {
  const counts = new Map<string, { source: DeadLetter["source"]; reason: string; count: number }>();
  for (const letter of letters) {
    const reason = reasonCodeOf(letter.reason);
    const key = `${letter.source}\u0000${reason}`;
    const entry = counts.get(key);
    if (entry === undefined) counts.set(key, { source: letter.source, reason, count: 1 });
    else entry.count++;
  }
  for (const { source, reason, count } of counts.values()) metrics.deadLettered(source, reason, count);
}
