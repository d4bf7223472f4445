/**
 * Wraps `read` so that it runs at most once per `intervalMs`: calls within the interval get the
 * last value, and calls while a read runs share it. A failed read is not kept; the next call
 * reads again. For reads whose cost grows with the data (counting a backlog, asking the brokers
 * for offsets), whatever the number of scrapers and their rate.
 */
export function readAtMostEvery<T>(read: () => Promise<T>, options: { readonly intervalMs: number; readonly now: () => number }): () => Promise<T> {
  let last: { readonly value: T; readonly at: number } | null = null;
  let running: Promise<T> | null = null;
  return () => {
    if (last !== null && options.now() - last.at < options.intervalMs) return Promise.resolve(last.value);
    if (running !== null) return running;
    const startedAt = options.now();
    running = read().then(
      (value) => {
        last = { value, at: startedAt };
        running = null;
        return value;
      },
      (error: unknown) => {
        running = null;
        throw error;
      },
    );
    return running;
  };
}
