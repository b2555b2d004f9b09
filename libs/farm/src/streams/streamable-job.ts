import { InputError } from '@streamedit/pipeline';
import type { JobRecord } from '../jobs/job-record';
import type { JobRepository } from '../jobs/job-repository';

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
 * The record of a job a live stream can use: it exists (else 404) and is done with its windows (else 409). The API
 * checks this before it makes a stream; the streamer reads it again to lay the job out (`materializeJobWorkDir`).
 */
export async function requireStreamableJob(jobs: JobRepository, jobId: string): Promise<JobRecord> {
  const job = await jobs.get(jobId);
  if (!job) throw new JobNotStreamableError(`Job ${jobId} does not exist: give the id of a finished job.`, 404);
  if (job.state !== 'done' || !job.windows?.length) {
    throw new JobNotStreamableError(
      `Job ${jobId} is ${job.state}, not done: a live stream needs a finished job's model and edit.`,
      409,
    );
  }
  return job;
}
