/**
 * The graphile-worker task of baseline B1: the shared per-job work (../deliver-job.ts), with the
 * job's two statements on graphile's own pool; a throw makes graphile retry the job.
 */
import type { Task } from "graphile-worker";
import type { QueryConfig, QueryResultRow } from "pg";
import type { Agent } from "undici";
import { deliverJob, type DeliverJobOptions } from "../deliver-job.ts";

export function makeDeliverTask(agent: Agent, options: DeliverJobOptions): Task {
  return async (payload, helpers) => {
    const runQuery = <R extends QueryResultRow>(query: QueryConfig) => helpers.withPgClient((client) => client.query<R>(query));
    await deliverJob(runQuery, agent, (payload as { job_id: string }).job_id, options);
  };
}
