import type { Provider } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  BenchmarkRepository,
  BenchmarkScheduler,
  FlowScheduler,
  JobRepository,
  WorkerRepository,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import { ARTIFACT_STORE, FARM_CONFIG, REDIS } from '../api.tokens';

/** What the API is built from: made by `createApiApp` (settings, one Redis connection, the store). */
export interface ApiDependencies {
  readonly config: FarmConfig;
  readonly redis: Redis;
  readonly store: ArtifactStore;
}

/**
 * The repositories (the only classes with side effects on Redis and the store) as Nest providers. They live in
 * libs/farm because workers use them too; here they are only wired.
 */
export function farmProviders(deps: ApiDependencies): Provider[] {
  return [
    { provide: FARM_CONFIG, useValue: deps.config },
    { provide: REDIS, useValue: deps.redis },
    { provide: ARTIFACT_STORE, useValue: deps.store },
    { provide: JobRepository, useFactory: (redis: Redis) => new JobRepository(redis), inject: [REDIS] },
    { provide: WorkerRepository, useFactory: (redis: Redis) => new WorkerRepository(redis), inject: [REDIS] },
    { provide: BenchmarkRepository, useFactory: (redis: Redis) => new BenchmarkRepository(redis), inject: [REDIS] },
    {
      provide: BenchmarkScheduler,
      useFactory: (redis: Redis, config: FarmConfig) => new BenchmarkScheduler(redis, config),
      inject: [REDIS, FARM_CONFIG],
    },
    {
      provide: FlowScheduler,
      useFactory: (redis: Redis, config: FarmConfig) => new FlowScheduler(redis, config),
      inject: [REDIS, FARM_CONFIG],
    },
  ];
}
