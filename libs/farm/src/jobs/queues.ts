import type { JobsOptions } from 'bullmq';
import type { FarmConfig } from '../config';
import type { JobRecord, Priority, TrainDevice } from './job-record';
import type { StageName } from './states';

/** Every BullMQ queue of the farm. KEDA scales trainers on `train-*` and renderers on `render` (see infra/). */
export const QUEUE_NAMES = ['analyze', 'train-cpu', 'train-gpu', 'render', 'mux'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

/** BullMQ's Redis key prefix (the default); KEDA's list trigger reads `bull:{queue}:wait`. */
export const QUEUE_PREFIX = 'bull';

/** The job names; one per stage (`JobName` = `StageName`: the job map is keyed by it). */
export type JobName = StageName;

/** Which queue the train stage of a job goes to. */
export function trainQueue(device: TrainDevice): QueueName {
  return device === 'gpu' ? 'train-gpu' : 'train-cpu';
}

/** What a BullMQ job carries: ids only. Everything else (edit, keys, settings) is read from the record and config. */
export interface FarmJobData {
  readonly jobId: string;
  /** Render window index (render jobs only). */
  readonly window?: number;
}

/**
 * BullMQ job ids, derived from the farm job id so adding a stage twice (a retried train adding its render windows
 * again) is a no-op, and cancel can find every job of a flow. BullMQ ids may not contain `:`.
 */
export const bullJobId = {
  analyze: (id: string) => `${id}_analyze`,
  train: (id: string) => `${id}_train`,
  render: (id: string, window: number) => `${id}_render_${window}`,
  mux: (id: string) => `${id}_mux`,
} as const;

/** `{ prefix, queue }` of a queue in the form BullMQ's `parent.queue` option wants. */
export function qualifiedQueueName(queue: QueueName): string {
  return `${QUEUE_PREFIX}:${queue}`;
}

/** Priority as BullMQ options: see `PRIORITIES` for why `high` is LIFO on the wait list. */
export function priorityOptions(priority: Priority): Pick<JobsOptions, 'priority' | 'lifo'> {
  switch (priority) {
    case 'high':
      return { lifo: true };
    case 'normal':
      return {};
    case 'low':
      return { priority: 10 };
  }
}

/**
 * Options shared by every stage job: retries with exponential backoff, bounded history, and a failure that fails
 * the parent (so a failed stage ends the whole flow instead of leaving mux waiting for ever).
 */
export function stageJobOptions(config: FarmConfig, record: Pick<JobRecord, 'priority'>): JobsOptions {
  return {
    ...priorityOptions(record.priority),
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.backoffMs },
    removeOnComplete: { count: config.keepCompleted },
    removeOnFail: { count: config.keepFailed },
    failParentOnFailure: true,
  };
}
