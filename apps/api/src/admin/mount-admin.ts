import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { static as serveStatic } from 'express';
import { REPO_ROOT } from '@streamedit/pipeline';
import { resolveAuth, type FarmConfig } from '@streamedit/farm';
import { Authenticator } from '../auth/authenticator';
import { httpMetrics } from '../metrics/http-metrics';
import { MetricsService } from '../metrics/metrics.service';
import { adminGate } from './admin-auth';
import { QUEUE_BOARD_PATH, QueueBoard } from './queue-board';

/**
 * The dashboard's page, script and style: plain files, no build step. Served from the sources (the API image
 * copies this folder next to dist/, see docker/api.Dockerfile).
 */
export const DASHBOARD_DIR = join(REPO_ROOT, 'apps', 'api', 'src', 'admin', 'static');

/**
 * Express-level parts of the ops surface, installed before Nest's routes: the request timer for `/metrics`, then
 * under `/admin` the admin gate (credential check, same-origin for actions), bull-board at `/admin/queues` and the
 * dashboard at `/admin/`. The admin JSON API (`/admin/api/…`) is a Nest controller behind the same gate.
 */
export function mountOps(app: NestExpressApplication, config: FarmConfig): void {
  app.use(httpMetrics(app.get(MetricsService).httpDuration));
  app.use('/admin', adminGate(config.adminToken, app.get(Authenticator), resolveAuth(config).enabled));
  app.use(QUEUE_BOARD_PATH, app.get(QueueBoard).router);
  app.use('/admin', serveStatic(DASHBOARD_DIR, { index: 'index.html', redirect: true, dotfiles: 'ignore' }));
}
