import type { Job } from "../../domain/job.ts";
import { makeSecret } from "../../domain/secret.ts";
import type { JobReader } from "../../ports/job-reader.ts";
import { isUuid, type SqlClient } from "./sql-client.ts";

interface JobRow {
  id: string;
  status: string;
  finished_at: Date | null;
  output_markup: string | null;
  error_code: string | null;
  error_message: string | null;
  webhook_url: string | null;
  webhook_secret: string | null;
}

export function makeJobReader(sql: SqlClient): JobReader {
  return {
    async findJobs(ids: readonly string[]): Promise<ReadonlyMap<string, Job>> {
      // Malformed ids name no job; dropping them first keeps one bad id from failing the batch.
      const wanted = [...new Set(ids.filter(isUuid))];
      const found = new Map<string, Job>();
      if (wanted.length === 0) return found;
      const rows = await sql<JobRow[]>`
        select id, status, finished_at, output_markup, error_code, error_message, webhook_url, webhook_secret
        from jobs
        where id = any(${sql.array(wanted)}::uuid[])`;
      const byId = new Map(rows.map((row) => [row.id, toJob(row)]));
      // Keyed by the id as the caller spelled it (uuids compare case-insensitively).
      for (const id of wanted) {
        const job = byId.get(id.toLowerCase());
        if (job !== undefined) found.set(id, job);
      }
      return found;
    },
  };
}

function toJob(row: JobRow): Job {
  return {
    id: row.id,
    status: row.status,
    finishedAt: row.finished_at,
    outputMarkup: row.output_markup,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    webhookUrl: row.webhook_url,
    webhookSecret: row.webhook_secret === null ? null : makeSecret(row.webhook_secret),
  };
}
