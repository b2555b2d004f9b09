import {
  analyzeHandler,
  muxHandler,
  renderHandler,
  trainHandler,
  type HandlerDeps,
  type StageProcessor,
} from '../jobs/handlers';
import { JOB_ROUTES, type JobRoute } from '../jobs/job-routes';
import { QUEUE_NAMES, type JobName } from '../jobs/queues';
import { STAGES } from '../jobs/states';

/** How one job name is run: its route (`jobs/job-routes.ts`) and its handler. */
export interface JobDefinition extends JobRoute {
  /** Builds the BullMQ processor (workers only; the API never calls it). */
  readonly handler: (deps: HandlerDeps) => StageProcessor;
}

/**
 * Every job of the farm, declared once. `Record<JobName, …>` makes the map exhaustive at compile time;
 * `assertJobMap` checks the same at start-up, plus that every queue is served by exactly one job name.
 */
export const FARM_JOBS: Readonly<Record<JobName, JobDefinition>> = {
  analyze: { ...JOB_ROUTES.analyze, handler: analyzeHandler },
  train: { ...JOB_ROUTES.train, handler: trainHandler },
  render: { ...JOB_ROUTES.render, handler: renderHandler },
  mux: { ...JOB_ROUTES.mux, handler: muxHandler },
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
