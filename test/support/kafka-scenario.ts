import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { startSampleReceiver, type Reply, type SampleReceiver } from "../../scripts/sample-receiver.ts";
import { startDispatcherProcess, type DispatcherProcess } from "./dispatcher-process.ts";
import { TEST_SECRET } from "./harness.ts";
import { createTopic, kafkaBrokers, uniqueTopicName } from "./kafka.ts";
import { createMigratedDatabase } from "./postgres.ts";

export interface KafkaScenario {
  readonly sql: postgres.Sql;
  readonly receiver: SampleReceiver;
  readonly topic: string;
  /** Environment for a dispatcher process consuming `topic` into this scenario's database. */
  readonly env: Record<string, string>;
  spawn(env?: Record<string, string>, runtime?: "node" | "deno"): Promise<DispatcherProcess>;
  /** Finished jobs whose webhooks point at `path` on the receiver (or on another server at `baseUrl`). */
  addJobs(count: number, path?: string, baseUrl?: string): Promise<string[]>;
  sentCount(): Promise<number>;
  cleanup(): Promise<void>;
}

/** A fresh database, a fresh topic with `partitions` partitions, a receiver and a consumer group of its own. */
export async function startKafkaScenario(options: {
  partitions: number;
  reply?: (path: string, count: number) => Reply;
}): Promise<KafkaScenario> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const database = await createMigratedDatabase(cleanups);
  const { sql } = database;
  const receiver = await startSampleReceiver({ secretFor: () => TEST_SECRET, reply: options.reply ?? (() => ({ status: 200 })) });
  cleanups.push(() => receiver.close());
  const topic = uniqueTopicName("webhooks");
  await createTopic(topic, options.partitions);
  const env = {
    DATABASE_URL: database.url,
    KAFKA_BROKERS: kafkaBrokers().join(","),
    KAFKA_TOPIC_WEBHOOKS: topic,
    KAFKA_GROUP_ID: `group-${randomUUID()}`,
    POLL_INTERVAL: "200ms",
  };
  return {
    sql,
    receiver,
    topic,
    env,
    async spawn(extra = {}, runtime = "node") {
      const dispatcher = await startDispatcherProcess({ env: { ...env, ...extra }, runtime });
      cleanups.push(() => dispatcher.stop("SIGKILL"));
      return dispatcher;
    },
    async addJobs(count, path = "/hook", baseUrl = receiver.url) {
      const ids = Array.from({ length: count }, () => randomUUID());
      await sql`insert into jobs (id, status, finished_at, output_markup, webhook_url, webhook_secret)
                select id, 'succeeded', now(), '<story/>', ${baseUrl + path}, ${TEST_SECRET} from unnest(${ids}::uuid[]) as id`;
      return ids;
    },
    async sentCount() {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where status = 'sent'`;
      return row!.n;
    },
    async cleanup() {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    },
  };
}

/** The message value workers publish. */
export const eventMessage = (jobId: string, event = "job.succeeded") => ({
  key: jobId,
  value: JSON.stringify({ job_id: jobId, event, trace_id: `trace-${jobId}` }),
});

/** Receipts per webhook-id: how many times each delivery reached the receiver. */
export function receiptsPerWebhook(receiver: SampleReceiver): Map<string, number> {
  const counts = new Map<string, number>();
  for (const receipt of receiver.receipts) {
    const id = receipt.headers["webhook-id"] ?? "";
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
