import type { Job } from "../domain/job.ts";

/**
 * Reads jobs by id from the platform's `jobs` table. One round trip for the whole list.
 * Ids that name no job (or are not valid uuids) are simply absent from the map.
 */
export interface JobReader {
  findJobs(ids: readonly string[]): Promise<ReadonlyMap<string, Job>>;
}
