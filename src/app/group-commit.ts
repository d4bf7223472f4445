/** An item waiting for the next write, and its caller's promise. */
export interface Waiting<T, R> {
  readonly item: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: an item is written at once when no write is in flight; the items that arrive
 * meanwhile wait and then go together in the next write. Nothing waits on a timer, so a lone
 * item is as fast as without it. `nextGroup` takes the next write's items off the queue; `write`
 * settles each of their promises and never throws.
 */
export function createGroupCommit<T, R>(
  nextGroup: (queue: Waiting<T, R>[]) => Waiting<T, R>[],
  write: (group: Waiting<T, R>[]) => Promise<void>,
): (item: T) => Promise<R> {
  const queue: Waiting<T, R>[] = [];
  let writing = false;

  async function writeQueued(): Promise<void> {
    writing = true;
    while (queue.length > 0) await write(nextGroup(queue));
    writing = false;
  }

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) void writeQueued();
    });
}
