import type { Logger } from 'pino';
import { logger } from '@streamedit/pipeline';
import {
  createArtifactStore,
  FarmWorker,
  type ArtifactStore,
  type FarmConfig,
  type FarmStages,
} from '@streamedit/farm';
import { startApi, type RunningApi } from '../../../apps/api/src/api-app';

/** The API and one worker on every stage queue, both in the test's process, on `config`'s Redis and store. */
export interface InProcessFarm {
  readonly api: RunningApi;
  readonly store: ArtifactStore;
  readonly worker: FarmWorker;
  /** Stops the worker (1 s grace), the API and the store client; the services stay up (the test owns them). */
  close(): Promise<void>;
}

export interface InProcessFarmOptions {
  /** The worker's logger [`test-worker`]. */
  readonly log?: Logger;
  readonly heartbeatMs?: number;
  /** Least time between two progress writes [50 ms: tests watch progress move]. */
  readonly progressIntervalMs?: number;
}

/** Starts the store client, the API and a worker running `stages` (a test double, or the real pipeline stages). */
export async function startInProcessFarm(
  config: FarmConfig,
  stages: FarmStages,
  options: InProcessFarmOptions = {},
): Promise<InProcessFarm> {
  const store = await createArtifactStore(config);
  const api = await startApi(config);
  const worker = await FarmWorker.start({
    config,
    role: 'test',
    queues: ['analyze', 'train-cpu', 'render', 'mux'],
    stages,
    store,
    log: options.log ?? logger('test-worker'),
    heartbeatMs: options.heartbeatMs,
    progressIntervalMs: options.progressIntervalMs ?? 50,
  });
  return {
    api,
    store,
    worker,
    async close() {
      await worker.close(1000);
      await api.close();
      await store.close();
    },
  };
}
