import postgres from "postgres";

/** The channel the `webhook_outbox_notify` trigger notifies on commit. */
export const OUTBOX_CHANNEL = "webhook_outbox";

/** After the listening connection is lost, wait this long before listening again (ms), doubling up to the cap. */
const RELISTEN_FIRST_WAIT_MS = 500;
const RELISTEN_MAX_WAIT_MS = 30_000;

export interface OutboxListenerOptions {
  readonly url: string;
  /** Seconds to wait for the connection to open. */
  readonly connectTimeoutSeconds: number;
}

/**
 * LISTENs for committed outbox rows on a connection of its own, one that never idles out. Calls
 * `onAppended` for each notification, once listening has begun, and again each time listening
 * resumes after the connection was lost, so that the caller looks for rows committed meanwhile.
 * Rejects when the first LISTEN fails (the database cannot be reached).
 *
 * Not postgres.js's `sql.listen`: that one listens again from inside the driver's close handler,
 * where postgres.js 3.4.9 can write to the closed socket and throw an uncaught TypeError from
 * `nextWrite`. Here listening again waits for a timer and goes through the pool's usual connect
 * path, as any query after an outage does.
 */
export async function listenForOutbox(options: OutboxListenerOptions, onAppended: () => void): Promise<{ stop(): Promise<void> }> {
  let stopped = false;
  let relistening = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let waitMs = RELISTEN_FIRST_WAIT_MS;
  const connectionOptions = {
    max: 1,
    idle_timeout: 0,
    max_lifetime: null,
    connect_timeout: options.connectTimeoutSeconds,
    onnotice: () => {},
    onnotify: (channel: string) => channel === OUTBOX_CHANNEL && onAppended(),
    onclose: () => relistenSoon(),
  };
  const sql = postgres(options.url, connectionOptions);
  const listen = () => sql.unsafe(`listen ${OUTBOX_CHANNEL}`);

  function relistenSoon(): void {
    if (stopped || relistening) return;
    relistening = true;
    timer = setTimeout(() => {
      listen().then(
        () => {
          relistening = false;
          waitMs = RELISTEN_FIRST_WAIT_MS;
          if (!stopped) onAppended();
        },
        () => {
          relistening = false;
          waitMs = Math.min(waitMs * 2, RELISTEN_MAX_WAIT_MS);
          relistenSoon();
        },
      );
    }, waitMs);
  }

  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    await sql.end({ timeout: 0 });
  };
  try {
    await listen();
  } catch (error) {
    await stop();
    throw error;
  }
  onAppended();
  return { stop };
}
