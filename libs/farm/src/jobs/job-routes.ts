import type { JobRecord } from './job-record';
import { trainQueue, type JobName, type QueueName } from './queues';

/**
 * Where one job name goes: the queues it may be on and which one a given job goes to. A leaf module (no handlers,
 * no BullMQ connection) so the API and `flows.ts` can route jobs without loading any stage code; workers attach
 * the handlers in `workers/job-map.ts`.
 */
export interface JobRoute {
  /** Every queue that carries this job name (a worker serving one of them runs its handler). */
  readonly queues: readonly QueueName[];
  /** The queue a given farm job's instance goes to. */
  readonly route: (record: Pick<JobRecord, 'device'>) => QueueName;
}

/** The route of every job of the farm, declared once (`Record<JobName, …>`: exhaustive at compile time). */
export const JOB_ROUTES: Readonly<Record<JobName, JobRoute>> = {
  analyze: { queues: ['analyze'], route: () => 'analyze' },
  train: { queues: ['train-cpu', 'train-gpu'], route: (r) => trainQueue(r.device) },
  render: { queues: ['render'], route: () => 'render' },
  mux: { queues: ['mux'], route: () => 'mux' },
};

/** The job name a queue carries. */
export function jobNameOfQueue(
  queue: QueueName,
  map: Readonly<Record<JobName, Pick<JobRoute, 'queues'>>> = JOB_ROUTES,
): JobName {
  const entry = (Object.entries(map) as Array<[JobName, JobRoute]>).find(([, d]) => d.queues.includes(queue));
  if (!entry) throw new Error(`No job name carries queue "${queue}".`);
  return entry[0];
}
