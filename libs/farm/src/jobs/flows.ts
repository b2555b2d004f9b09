import { FlowProducer, Queue, type FlowJob } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FarmConfig } from '../config';
import { splitRenderWindows, type JobRecord, type RenderWindow } from './job-record';
import {
  bullJobId,
  qualifiedQueueName,
  QUEUE_NAMES,
  QUEUE_PREFIX,
  stageJobOptions,
  type FarmJobData,
  type QueueName,
} from './queues';
import { JOB_ROUTES } from './job-routes';

/**
 * Jobs of one queue. KEDA's redis list trigger can read `waiting` (`bull:{queue}:wait`) and `active`
 * (`bull:{queue}:active`) but not `prioritized` (a sorted set): `load` (all three) is served at `GET /v1/queues`
 * for its metrics-api trigger. Scaling on `load`, not on waiting alone, keeps a worker alive while it still runs
 * a job (scaling it away would hand the job back, and the queue would scale up again).
 */
export interface QueueDepth {
  readonly waiting: number;
  readonly prioritized: number;
  readonly active: number;
  readonly pending: number;
  readonly load: number;
}

/**
 * Puts jobs on the queues as BullMQ flows. One farm job is one tree whose root runs last:
 *
 * ```
 * mux ← train ← analyze                              (added by the API when the upload is accepted)
 * mux ← render[0], render[1], …, render[W−1]         (added by the train handler once the windows are known)
 * ```
 *
 * ARR windows exist only after training, so the train handler adds the render jobs as more children of mux —
 * BullMQ then makes mux wait for them too. It does so before the train job completes, so mux can never start
 * between the two. The train stage stores every window's edited reference (the one sequential step), so the render
 * jobs depend on nothing but training and run in parallel on as many renderers as there are. Job ids derive from
 * the farm job id (`bullJobId`), so adding them twice (a retried train) adds nothing.
 */
export class FlowScheduler {
  private readonly producer: FlowProducer;
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly config: FarmConfig,
  ) {
    this.producer = new FlowProducer({ connection, prefix: QUEUE_PREFIX });
  }

  /** Adds the analyze → train → mux flow of a new job. */
  async enqueue(record: JobRecord): Promise<void> {
    const opts = stageJobOptions(this.config, record);
    const data: FarmJobData = { jobId: record.id };
    await this.producer.add({
      name: 'mux',
      queueName: JOB_ROUTES.mux.route(record),
      data,
      opts: { ...opts, jobId: bullJobId.mux(record.id) },
      children: [
        {
          name: 'train',
          queueName: JOB_ROUTES.train.route(record),
          data,
          opts: { ...opts, jobId: bullJobId.train(record.id) },
          children: [
            {
              name: 'analyze',
              queueName: JOB_ROUTES.analyze.route(record),
              data,
              opts: { ...opts, jobId: bullJobId.analyze(record.id) },
            },
          ],
        },
      ],
    });
  }

  /** The render windows of a job: its ARR windows, long ones cut into chunks of at most `FARM_RENDER_CHUNK_FRAMES`. */
  renderWindowsOf(windows: ReadonlyArray<Omit<RenderWindow, 'index'>>): RenderWindow[] {
    return splitRenderWindows(windows, this.config.renderChunkFrames);
  }

  /** Adds one render job per window under the job's mux (call from the train handler, before it returns). */
  async addRenderWindows(record: JobRecord, windows: readonly RenderWindow[]): Promise<void> {
    if (windows.length === 0) throw new Error('At least one render window is needed.');
    const opts = stageJobOptions(this.config, record);
    const parent = { id: bullJobId.mux(record.id), queue: qualifiedQueueName(JOB_ROUTES.mux.route(record)) };
    await this.producer.addBulk(
      windows.map((w): FlowJob => ({
        name: 'render',
        queueName: JOB_ROUTES.render.route(record),
        data: { jobId: record.id, window: w.index } satisfies FarmJobData,
        opts: { ...opts, jobId: bullJobId.render(record.id, w.index), parent },
      })),
    );
  }

  /**
   * Best effort: removes the job's BullMQ jobs that are not running (a cancelled job). Running ones are aborted by
   * their worker instead; whatever is left fails with its parent and finds the record cancelled.
   */
  async discard(record: JobRecord): Promise<void> {
    const ids: Array<[QueueName, string]> = [
      [JOB_ROUTES.mux.route(record), bullJobId.mux(record.id)],
      [JOB_ROUTES.train.route(record), bullJobId.train(record.id)],
      [JOB_ROUTES.analyze.route(record), bullJobId.analyze(record.id)],
      ...(record.windows ?? []).map((w): [QueueName, string] => [
        JOB_ROUTES.render.route(record),
        bullJobId.render(record.id, w.index),
      ]),
    ];
    for (const [queue, id] of ids) {
      try {
        await this.queue(queue).remove(id, { removeChildren: true });
      } catch {
        // locked by a worker (running) or already gone: the worker's abort handles it
      }
    }
  }

  /** Work per queue, for operators and autoscaling (see {@link QueueDepth}). */
  async depths(): Promise<Record<QueueName, QueueDepth>> {
    const out = {} as Record<QueueName, QueueDepth>;
    for (const name of QUEUE_NAMES) {
      const c = await this.queue(name).getJobCounts('wait', 'prioritized', 'active');
      const waiting = c.wait ?? 0;
      const prioritized = c.prioritized ?? 0;
      const active = c.active ?? 0;
      out[name] = {
        waiting,
        prioritized,
        active,
        pending: waiting + prioritized,
        load: waiting + prioritized + active,
      };
    }
    return out;
  }

  async close(): Promise<void> {
    await this.producer.close();
    for (const q of this.queues.values()) await q.close();
  }

  private queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: QUEUE_PREFIX });
      this.queues.set(name, q);
    }
    return q;
  }
}
