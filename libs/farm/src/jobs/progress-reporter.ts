import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { ProgressEvent, ProgressListener } from '@streamedit/pipeline';
import type { JobPatch, JobRecord } from './job-record';
import type { JobRepository } from './job-repository';
import type { FarmJobData } from './queues';
import { overallProgress, STAGE_STATE, type StageName } from './states';

/** A stage's progress listener that writes to Redis at most every `intervalMs`, and its final flush. */
export interface ProgressReporter {
  readonly listener: ProgressListener;
  /** Writes what is pending and stops. */
  close(): Promise<void>;
}

/**
 * Maps a stage's own progress (`done`/`total` of frames, iterations…) to the job's overall percentage and writes it
 * to the record (throttled: stages may report thousands of times) and to the BullMQ job. A write never fails the
 * stage: errors are logged.
 */
export function createProgressReporter(options: {
  repo: JobRepository;
  job: Job<FarmJobData>;
  record: JobRecord;
  stage: StageName;
  log: Logger;
  intervalMs?: number;
}): ProgressReporter {
  const { repo, job, record, stage, log } = options;
  const interval = options.intervalMs ?? 500;
  let pending: JobPatch | undefined;
  let lastWrite = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const write = () => {
    timer = undefined;
    const patch = pending;
    pending = undefined;
    if (!patch) return;
    lastWrite = Date.now();
    chain = chain
      .then(async () => {
        await repo.update(record.id, [STAGE_STATE[stage]], patch);
        await job.updateProgress(patch.progress ?? 0);
      })
      .catch((err: unknown) => log.warn({ err }, 'progress not recorded'));
  };

  const listener: ProgressListener = (event) => {
    pending = patchFor(stage, event, record, job.data.window);
    const wait = lastWrite + interval - Date.now();
    if (wait <= 0) write();
    else timer ??= setTimeout(write, wait);
  };

  return {
    listener,
    close: async () => {
      if (timer) clearTimeout(timer);
      write();
      await chain;
    },
  };
}

/** The record fields one progress event sets. */
export function patchFor(stage: StageName, event: ProgressEvent, record: JobRecord, window?: number): JobPatch {
  const fraction = event.total && event.total > 0 ? event.done / event.total : 0;
  if (stage === 'render') {
    const count = Math.max(1, record.windows?.length ?? 1);
    return { progress: overallProgress(stage, ((window ?? 0) + fraction) / count) };
  }
  if (stage === 'train') {
    const done = numberInfo(event, 'iteration') ?? event.done;
    const total = numberInfo(event, 'iterations') ?? event.total;
    return { progress: overallProgress(stage, fraction), ...(total ? { iterations: { done, total } } : {}) };
  }
  return { progress: overallProgress(stage, fraction) };
}

function numberInfo(event: ProgressEvent, key: string): number | undefined {
  const v = event.info?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
