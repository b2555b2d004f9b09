import { InputError } from '@streamedit/pipeline';
import { materializeJobWorkDir, type ArtifactStore, type JobRepository } from '@streamedit/farm';

/** The job is unknown, or not finished: a live stream needs its model and its edited references. */
export class JobNotStreamableError extends InputError {
  constructor(
    message: string,
    readonly status: 404 | 409,
  ) {
    super(message);
  }
}

/**
 * Downloads what a live session needs of a finished farm job into a new work dir (`materializeJobWorkDir`), after
 * checking that the job exists (404) and is done (409). The caller removes the folder (the session does, with
 * `disposeWorkDir`).
 */
export async function downloadJobModel(jobs: JobRepository, store: ArtifactStore, jobId: string): Promise<string> {
  const job = await jobs.get(jobId);
  if (!job) throw new JobNotStreamableError(`Job ${jobId} does not exist: give the id of a finished job.`, 404);
  if (job.state !== 'done' || !job.windows?.length) {
    throw new JobNotStreamableError(
      `Job ${jobId} is ${job.state}, not done: a live stream needs a finished job's model and edit.`,
      409,
    );
  }
  return materializeJobWorkDir({ store, record: job });
}
