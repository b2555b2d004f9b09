import { Injectable } from '@nestjs/common';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, Router } from 'express';
import { FarmQueues } from '../metrics/farm-queues';

/** Where bull-board is served (behind the admin gate, like everything under `/admin`). */
export const QUEUE_BOARD_PATH = '/admin/queues';

/** bull-board's raw queue views (jobs, their data, logs and errors; retry, clean) for every farm queue. */
@Injectable()
export class QueueBoard {
  readonly router: Router;

  constructor(queues: FarmQueues) {
    const server = new ExpressAdapter();
    server.setBasePath(QUEUE_BOARD_PATH);
    createBullBoard({
      queues: [...queues.all.values()].map((q) => new BullMQAdapter(q)),
      serverAdapter: server,
      options: {
        uiConfig: {
          boardTitle: 'StreamEdit queues',
          miscLinks: [{ text: 'Farm dashboard', url: '/admin/' }],
          hideDocsLink: true,
        },
      },
    });
    const app = server.getRouter() as Express;
    // bull-board serves from an Express app of its own, which would add `X-Powered-By: Express` to its answers.
    app.disable('x-powered-by');
    this.router = app as unknown as Router;
  }
}
