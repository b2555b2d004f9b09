import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  Registry,
  type PrometheusContentType,
} from 'prom-client';
import { logger } from '@streamedit/pipeline';
import {
  farmMetrics,
  JobRepository,
  publishMetricsSnapshot,
  readMetricsSnapshots,
  WorkerRepository,
} from '@streamedit/farm';
import { REDIS } from '../api.tokens';
import { FarmQueues } from './farm-queues';

/** The BullMQ states counted per queue (`Queue.getJobCounts` names; `-` becomes `_` in the label). */
const QUEUE_STATES = ['wait', 'prioritized', 'active', 'delayed', 'waiting-children', 'completed', 'failed'] as const;

/** How often the API publishes its own farm metrics (jobs it cancelled) for the other API replicas. */
const PUBLISH_EVERY_MS = 15_000;

/** API requests take milliseconds; uploads and SSE streams take minutes. */
const HTTP_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * `GET /metrics`: the farm's Prometheus metrics in one scrape. Sources:
 * - read from Redis at scrape time: jobs per queue and state, paused queues, job records per state, workers per
 *   state and their heartbeat age;
 * - every farm process's `FarmMetrics` (stage and job durations, training speed, render fps, failures and retries
 *   per worker): this process's registry summed with the snapshots the workers and the other API replicas publish
 *   to Redis;
 * - this replica only: API request durations and the process's own metrics (`streamedit_api_*`).
 * So the farm-wide series are the same on every API replica: scrape one (through the Service), or aggregate them
 * with `max without (instance)` when every pod is scraped. When Redis is not connected, the Redis-derived series
 * are left out and `streamedit_redis_up` is 0, instead of a scrape that hangs.
 */
@Injectable()
export class MetricsService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  private readonly log = logger('api');
  private publisher?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly queues: FarmQueues,
    private readonly jobs: JobRepository,
    private readonly workers: WorkerRepository,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'streamedit_api_' });
    this.httpDuration = new Histogram({
      name: 'streamedit_http_request_duration_seconds',
      help: 'API request durations by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: HTTP_BUCKETS_S,
      registers: [this.registry],
    });
    this.redisGauges();
  }

  onModuleInit(): void {
    this.publisher = setInterval(() => void this.publish(), PUBLISH_EVERY_MS);
    this.publisher.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.publisher);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every series (see the class comment). */
  async scrape(): Promise<string> {
    const local = farmMetrics();
    void this.publish();
    const others = this.redisReady() ? await readMetricsSnapshots(this.redis, local.instanceId).catch(() => []) : [];
    const farm = AggregatorRegistry.aggregate<PrometheusContentType>([
      await local.registry.getMetricsAsJSON(),
      ...others,
    ]);
    return Registry.merge([farm, this.registry]).metrics();
  }

  /** Publishes this process's farm metrics (a cancel ends a job here) for the other replicas' scrapes. */
  private async publish(): Promise<void> {
    if (this.redisReady()) await publishMetricsSnapshot(this.redis, farmMetrics()).catch(() => {});
  }

  private redisReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Gauges filled at scrape time from Redis; a failing read leaves its series out rather than failing the scrape. */
  private redisGauges(): void {
    const registers = [this.registry];
    const guarded = (what: string, fill: () => Promise<void>) => async () => {
      if (!this.redisReady()) return;
      await fill().catch((err: unknown) => this.log.warn({ err }, `metrics: ${what} not read`));
    };
    const up: Gauge = new Gauge({
      name: 'streamedit_redis_up',
      help: 'Whether the API is connected to Redis (1) or not (0).',
      registers,
      collect: (): void => up.set(this.redisReady() ? 1 : 0),
    });
    const queueJobs: Gauge<'queue' | 'state'> = new Gauge({
      name: 'streamedit_queue_jobs',
      help: 'BullMQ jobs per queue and state (wait, prioritized, active, delayed, waiting_children, completed, failed).',
      labelNames: ['queue', 'state'] as const,
      registers,
      collect: guarded('queue depths', async () => {
        queueJobs.reset();
        for (const [queue, q] of this.queues.all) {
          const counts = await q.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES)
            queueJobs.set({ queue, state: state.replace('-', '_') }, counts[state] ?? 0);
        }
      }),
    });
    const paused: Gauge<'queue'> = new Gauge({
      name: 'streamedit_queue_paused',
      help: 'Whether an operator paused the queue (1) or not (0).',
      labelNames: ['queue'] as const,
      registers,
      collect: guarded('paused queues', async () => {
        for (const [queue, q] of this.queues.all) paused.set({ queue }, (await q.isPaused()) ? 1 : 0);
      }),
    });
    const jobs: Gauge<'state'> = new Gauge({
      name: 'streamedit_jobs',
      help: 'Farm jobs (records) per state.',
      labelNames: ['state'] as const,
      registers,
      collect: guarded('job counts', async () => {
        for (const [state, n] of Object.entries(await this.jobs.countByState())) jobs.set({ state }, n);
      }),
    });
    const workers: Gauge<'state'> = new Gauge({
      name: 'streamedit_workers',
      help: 'Workers seen in the last two minutes (and blocked ones), per state.',
      labelNames: ['state'] as const,
      registers,
      collect: guarded('workers', async () => {
        workers.reset();
        for (const state of ['running', 'blocked', 'stopping']) workers.set({ state }, 0);
        for (const w of await this.workers.list()) workers.inc({ state: w.state });
      }),
    });
    const heartbeat: Gauge<'worker'> = new Gauge({
      name: 'streamedit_worker_heartbeat_age_seconds',
      help: "Seconds since each listed worker's last heartbeat.",
      labelNames: ['worker'] as const,
      registers,
      collect: guarded('heartbeats', async () => {
        heartbeat.reset();
        const now = Date.now();
        for (const w of await this.workers.list())
          heartbeat.set({ worker: w.id }, (now - Date.parse(w.lastSeen)) / 1000);
      }),
    });
  }
}
