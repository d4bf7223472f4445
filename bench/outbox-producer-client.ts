/** The parent's side of bench/outbox-producer.ts: starts the process and hands it the events to commit. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { trackChild, within, type Scope } from "./scope.ts";

/** The producer's connections carry this name, so their backends can be told from the dispatcher's. */
export const PRODUCER_APPLICATION_NAME = "bench-outbox-producer";

export interface ProduceRequest {
  /** One outbox row per job (the jobs exist), in this order. */
  readonly jobIds: readonly string[];
  readonly ratePerSecond: number;
  /** When the first row is due, epoch ms (the receiver's clock). */
  readonly startAt: number;
}

export interface ProducedEvents {
  /** When each row was due (`startAt + k / rate`), epoch ms. */
  readonly scheduledAt: number[];
  /** When each row's COMMIT returned to the producer, epoch ms. */
  readonly committedAt: number[];
  /** The producer process's CPU (user + system) while producing, µs. */
  readonly cpuMicros: number;
}

export interface OutboxProducer {
  readonly pid: number;
  /** Commits the rows on their schedule; rejects when any row could not be committed. */
  produce(request: ProduceRequest, signal: AbortSignal): Promise<ProducedEvents>;
}

const PRODUCER_FILE = fileURLToPath(new URL("./outbox-producer.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Starts a producer on `databaseUrl` with its pool open; `scope` ends it. */
export async function startOutboxProducer(databaseUrl: string, scope: Scope): Promise<OutboxProducer> {
  const child: ChildProcess = fork(PRODUCER_FILE, [], {
    cwd: REPO_ROOT,
    execArgv: ["--import", "tsx"],
    env: { PATH: process.env.PATH, BENCH_DATABASE_URL: databaseUrl },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  trackChild(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  scope.defer(`stop outbox producer ${child.pid}`, async () => {
    if (child.connected) child.disconnect();
    await within(5_000, exited, "outbox producer exit").catch(() => child.kill("SIGKILL"));
  });
  const answers = new Map<number, (message: { result?: ProducedEvents; error?: string }) => void>();
  child.on("message", (message: { id: number; result?: ProducedEvents; error?: string }) => {
    answers.get(message.id)?.(message);
    answers.delete(message.id);
  });
  const answer = (id: number, signal?: AbortSignal) =>
    new Promise<ProducedEvents | undefined>((resolve, reject) => {
      answers.set(id, (message) => (message.error === undefined ? resolve(message.result) : reject(new Error(`outbox producer: ${message.error}`))));
      void exited.then(() => reject(new Error("the outbox producer exited")));
      signal?.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
    });
  await within(30_000, answer(0), "outbox producer start-up");
  let nextId = 1;
  return {
    pid: child.pid!,
    produce: async (request, signal) => {
      const id = nextId++;
      const answered = answer(id, signal);
      child.send({ id, ...request });
      return (await answered)!;
    },
  };
}
