import { Module } from '@nestjs/common';
import { FarmQueues } from './farm-queues';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Prometheus metrics: `GET /metrics`, and the request timer `mountHttpMetrics` installs. */
@Module({
  controllers: [MetricsController],
  providers: [FarmQueues, MetricsService],
  exports: [MetricsService, FarmQueues],
})
export class MetricsModule {}
