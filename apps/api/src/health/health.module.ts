import { Module } from '@nestjs/common';
import { HealthController } from './health.controller';

/** `/health` and `/health/ready` (the older `/v1/health` stays in the farm controller). */
@Module({ controllers: [HealthController] })
export class HealthModule {}
