import type { JobRecord } from '../jobs/job-record';
import {
  analyzeHandler,
  muxHandler,
  renderHandler,
  trainHandler,
  type HandlerDeps,
  type StageProcessor,
} from '../jobs/handlers';
import { QUEUE_NAMES, trainQueue, type JobName, type QueueName } from '../jobs/queues';
import { STAGES } from '../jobs/states';

/** How one job name is run: the queues it may be on, which one a given job goes to, and its handler. */
export interface JobDefinition {
  /** Every queue that carries this job name (a worker serving one of them runs `handler`). */
  readonly queues: readonly QueueName[];
  /** The queue a given farm job's instance goes to. */
  readonly route: (record: Pick<JobRecord, 'device'>) => QueueName;
  /** Builds the BullMQ processor (workers only; the API never calls it). */
  readonly handler: (deps: HandlerDeps) => StageProcessor;
}

/**
 * Every job of the farm, declared once. `Record<JobName, …>` makes the map exhaustive at compile time;
 * `assertJobMap` checks the same at start-up, plus that every queue is served by exactly one job name.
 */
export const FARM_JOBS: Readonly<Record<JobName, JobDefinition>> = {
  analyze: { queues: ['analyze'], route: () => 'analyze', handler: analyzeHandler },
  train: { queues: ['train-cpu', 'train-gpu'], route: (r) => trainQueue(r.device), handler: trainHandler },
  render: { queues: ['render'], route: () => 'render', handler: renderHandler },
  mux: { queues: ['mux'], route: () => 'mux', handler: muxHandler },
};

/** Throws unless every job name has a handler and queues, and every queue belongs to exactly one job name. */
export function assertJobMap(map: Readonly<Record<string, JobDefinition | undefined>> = FARM_JOBS): void {
  for (const name of STAGES) {
    const def = map[name];
    if (!def || typeof def.handler !== 'function' || typeof def.route !== 'function' || def.queues.length === 0) {
      throw new Error(`The job map has no complete definition for "${name}" (queues, route and handler are required).`);
    }
  }
  for (const queue of QUEUE_NAMES) {
    const owners = Object.entries(map).filter(([, d]) => d?.queues.includes(queue));
    if (owners.length !== 1) {
      throw new Error(
        `Queue "${queue}" must belong to exactly one job name, found ${owners.map(([n]) => n).join(', ') || 'none'}.`,
      );
    }
  }
  for (const [name, def] of Object.entries(map)) {
    if (!(STAGES as readonly string[]).includes(name))
      throw new Error(`The job map declares an unknown job name "${name}".`);
    for (const q of def!.queues) {
      if (!(QUEUE_NAMES as readonly string[]).includes(q))
        throw new Error(`Job "${name}" names an unknown queue "${q}".`);
    }
  }
}

/** The job name a queue carries. */
export function jobNameOfQueue(queue: QueueName, map: Readonly<Record<JobName, JobDefinition>> = FARM_JOBS): JobName {
  const entry = (Object.entries(map) as Array<[JobName, JobDefinition]>).find(([, d]) => d.queues.includes(queue));
  if (!entry) throw new Error(`No job name carries queue "${queue}".`);
  return entry[0];
}
