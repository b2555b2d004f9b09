import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '@streamedit/farm';
import { ARTIFACT_STORE, REDIS } from '../api.tokens';
import { Public } from '../auth/auth.decorators';
import { checkRedis, checkStorage, type ReadinessCheck } from './readiness';

/** What `/health/ready` answers. */
export interface ReadinessBody {
  readonly status: 'ready' | 'not ready';
  readonly checks: { readonly redis: ReadinessCheck; readonly storage: ReadinessCheck & { readonly kind: string } };
}

/**
 * Probes for orchestrators: `/health` (liveness: the process serves HTTP; it checks nothing else, so a Redis outage
 * does not get every API pod restarted) and `/health/ready` (readiness: Redis and the artifact store answer; 503
 * otherwise, so traffic goes elsewhere until they do).
 */
@ApiTags('farm')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: 200 while the process serves requests.' })
  live(): { status: 'ok'; uptimeS: number } {
    return { status: 'ok', uptimeS: Math.round(process.uptime()) };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: 200 when Redis and storage answer, 503 (with the failing check) otherwise.' })
  @ApiResponse({ status: 200, description: 'Ready.' })
  @ApiResponse({ status: 503, description: 'Redis or storage does not answer; `checks` says which and why.' })
  async ready(@Res({ passthrough: true }) res: Response): Promise<ReadinessBody> {
    const [redis, storage] = await Promise.all([checkRedis(this.redis), checkStorage(this.store)]);
    const ok = redis.ok && storage.ok;
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ready' : 'not ready', checks: { redis, storage: { ...storage, kind: this.store.kind } } };
  }
}
