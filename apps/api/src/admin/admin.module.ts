import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module';
import { AdminController } from './admin.controller';
import { AdminGuard } from './admin.guard';
import { AdminService } from './admin.service';
import { QueueBoard } from './queue-board';

/**
 * The operators' admin UI: the dashboard's JSON API (`AdminController`), bull-board (`QueueBoard`), and — mounted
 * by `mountAdmin` in front of all of it — the admin gate and the dashboard's static page.
 */
@Module({
  imports: [MetricsModule],
  controllers: [AdminController],
  providers: [AdminService, AdminGuard, QueueBoard],
})
export class AdminModule {}
