import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { MetricsService } from './metrics.service';

/** `GET /metrics`: Prometheus exposition format (see `MetricsService`). Unauthenticated, like most scrape targets. */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    const body = await this.metrics.scrape();
    // Exactly prom-client's content type (Express's `type()` would reorder its parameters).
    res.status(200).setHeader('Content-Type', this.metrics.contentType);
    res.end(body);
  }
}
