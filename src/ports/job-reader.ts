import type { Job } from "../domain/job.ts";

/** How much of the jobs' bodies (markup, error) one look-up may bring into memory. */
export interface BodyLimits {
  /** A job whose body fields alone exceed this many bytes comes back with `unreadBody: too_large`. */
  readonly maxPayloadBytes: number;
  /**
   * Bytes of body fields read by one look-up; the jobs past it (in id order) come back with
   * `unreadBody: over_budget`. The first job within `maxPayloadBytes` is always read.
   */
  readonly maxTotalBytes: number;
}

/**
 * Reads jobs by id from the platform's `jobs` table. One round trip for the whole list.
 * Ids that name no job (or are not valid uuids) are simply absent from the map. Without
 * `limits` every body is read whatever its size.
 */
export interface JobReader {
  findJobs(ids: readonly string[], limits?: BodyLimits): Promise<ReadonlyMap<string, Job>>;
}
