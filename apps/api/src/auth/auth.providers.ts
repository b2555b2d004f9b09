import type { Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { Redis } from 'ioredis';
import { ActiveJobQuota, ApiKeyRepository, RateLimiter, type FarmConfig } from '@streamedit/farm';
import { FARM_CONFIG, REDIS } from '../api.tokens';
import { ApiAuthGuard } from './api-auth.guard';
import { Authenticator } from './authenticator';
import { EventsUrlSigner } from './events-url';

/** API keys, rate limits, job quotas and the global auth guard, wired to the shared Redis and settings. */
export function authProviders(): Provider[] {
  return [
    {
      provide: ApiKeyRepository,
      useFactory: (redis: Redis, config: FarmConfig) => new ApiKeyRepository(redis, config.authPepper),
      inject: [REDIS, FARM_CONFIG],
    },
    { provide: RateLimiter, useFactory: (redis: Redis) => new RateLimiter(redis), inject: [REDIS] },
    { provide: ActiveJobQuota, useFactory: (redis: Redis) => new ActiveJobQuota(redis), inject: [REDIS] },
    Authenticator,
    EventsUrlSigner,
    { provide: APP_GUARD, useClass: ApiAuthGuard },
  ];
}
