import type { Logger } from 'pino';
import type { ArtifactStore } from '../storage/artifact-store';
import { isJobId, jobKeys } from '../storage/keys';
import type { JobRepository } from './job-repository';

/** What one sweep removed. */
export interface SweepReport {
  /** Job ids whose stored folder had no job record, and was removed. */
  readonly orphanJobs: readonly string[];
  /** Objects removed with them. */
  readonly objectsDeleted: number;
  /** Multipart uploads aborted (S3; 0 where the store has none). */
  readonly uploadsAborted: number;
}

/**
 * Removes what a crash or a failed cleanup left in storage: job folders (`jobs/{id}/…`) whose job has no record, and
 * multipart uploads never completed, once older than `olderThanS` (an upload still being received has no record
 * yet, and is younger). The API's refusal path deletes what it wrote itself; this catches the rest (a process killed
 * mid-upload, a storage error during that cleanup). Safe to run from several API replicas at once.
 */
export async function sweepLeftovers(
  deps: { readonly store: ArtifactStore; readonly jobs: JobRepository; readonly log?: Logger },
  options: { readonly olderThanS: number; readonly nowMs?: number },
): Promise<SweepReport> {
  const cutoff = (options.nowMs ?? Date.now()) - options.olderThanS * 1000;
  const newest = new Map<string, number>();
  for (const o of await deps.store.list('jobs/')) {
    const id = o.key.split('/')[1] ?? '';
    if (!isJobId(id)) continue;
    // An object without a date counts as new: never delete what cannot be shown to be old.
    const t = o.lastModified?.getTime() ?? Number.POSITIVE_INFINITY;
    newest.set(id, Math.max(newest.get(id) ?? 0, t));
  }
  const orphanJobs: string[] = [];
  let objectsDeleted = 0;
  for (const [id, t] of newest) {
    if (t >= cutoff || (await deps.jobs.get(id))) continue;
    objectsDeleted += await deps.store.deletePrefix(jobKeys(id).prefix);
    orphanJobs.push(id);
  }
  const uploadsAborted = (await deps.store.abortIncompleteUploads?.(new Date(cutoff))) ?? 0;
  if (orphanJobs.length > 0 || uploadsAborted > 0)
    deps.log?.warn({ orphanJobs, objectsDeleted, uploadsAborted }, 'removed stored leftovers');
  return { orphanJobs, objectsDeleted, uploadsAborted };
}
