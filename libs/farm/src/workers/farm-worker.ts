import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { FarmConfig } from '../config';
import { FlowScheduler } from '../jobs/flows';
import { ABORT_REASON, failRecord, type StageFailure, type StageProcessor } from '../jobs/handlers';
import { jobNameOfQueue } from '../jobs/job-routes';
import { assertJobMap, FARM_JOBS } from './job-map';
import { JOB_KEYS, JobRepository } from '../jobs/job-repository';
import { QUEUE_PREFIX, type FarmJobData, type QueueName } from '../jobs/queues';
import type { FarmStages } from '../jobs/stages';
import { StageTelemetry } from '../metrics/stage-telemetry';
import type { ArtifactStore } from '../storage/artifact-store';
import { WORKER_KEYS, WorkerRepository, type WorkerControlMessage } from './worker-repository';

/** What a worker process runs. */
export interface FarmWorkerOptions {
  readonly config: FarmConfig;
  /** `trainer` or `renderer` (or anything: it is shown in the worker list). */
  readonly role: string;
  readonly queues: readonly QueueName[];
  readonly stages: FarmStages;
  readonly store: ArtifactStore;
  readonly log: Logger;
  /** Heartbeat period. Default 10 s. */
  readonly heartbeatMs?: number;
  /** Least time between progress writes. Default 500 ms. */
  readonly progressIntervalMs?: number;
}

/**
 * BullMQ workers over the job map, one per served queue, in one process. Besides running the stage handlers it:
 * aborts a running stage when its job is cancelled (`farm:cancel`); stops taking work and marks itself blocked in
 * Redis after `FARM_MAX_CONSECUTIVE_FAILURES` internal failures in a row (an operator clears it through the API);
 * and on `close()` lets the current jobs finish for `FARM_SHUTDOWN_GRACE_S`, then hands them back to the queue.
 */
export class FarmWorker {
  private readonly workers: Worker<FarmJobData>[] = [];
  private readonly active = new Map<string, Set<{ worker: Worker<FarmJobData>; bullId: string }>>();
  private consecutiveFailures = 0;
  private state: 'running' | 'blocked' | 'stopping' = 'running';
  private heartbeat?: NodeJS.Timeout;
  /** Metrics (published to Redis for the API's `/metrics`), job event logs and training curves. */
  private readonly telemetry: StageTelemetry;

  private constructor(
    private readonly options: FarmWorkerOptions,
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly repo: JobRepository,
    private readonly workerRepo: WorkerRepository,
    private readonly flows: FlowScheduler,
  ) {
    this.telemetry = new StageTelemetry(redis, options.config.workerId);
  }

  get id(): string {
    return this.options.config.workerId;
  }

  get blocked(): boolean {
    return this.state === 'blocked';
  }

  /** Checks the job map, connects, subscribes to cancels and starts the BullMQ workers. */
  static async start(options: FarmWorkerOptions): Promise<FarmWorker> {
    assertJobMap(FARM_JOBS);
    if (options.queues.length === 0) throw new Error('A worker must serve at least one queue.');
    const redis = new Redis(options.config.redisUrl, { maxRetriesPerRequest: null });
    const subscriber = redis.duplicate();
    const farm = new FarmWorker(
      options,
      redis,
      subscriber,
      new JobRepository(redis),
      new WorkerRepository(redis),
      new FlowScheduler(redis, options.config),
    );
    await farm.listen();
    // A worker id blocked before a restart stays blocked until an operator clears it.
    if (await farm.workerRepo.isBlocked(farm.id)) farm.state = 'blocked';
    for (const queue of options.queues) farm.workers.push(farm.createWorker(queue));
    await farm.beat();
    farm.heartbeat = setInterval(() => void farm.beat(), options.heartbeatMs ?? 10_000);
    farm.heartbeat.unref();
    options.log.info({ worker: farm.id, queues: options.queues, blocked: farm.blocked }, 'worker started');
    return farm;
  }

  /**
   * Graceful stop: no new jobs; running ones get `graceMs` (default `FARM_SHUTDOWN_GRACE_S`) to finish, then are
   * aborted with reason `shutdown`, which hands them back to the wait list without spending an attempt.
   */
  async close(graceMs = this.options.config.shutdownGraceS * 1000): Promise<void> {
    if (this.state === 'stopping') return;
    this.state = 'stopping';
    if (this.heartbeat) clearInterval(this.heartbeat);
    const handBack = setTimeout(() => {
      for (const w of this.workers) w.cancelAllJobs(ABORT_REASON.shutdown);
    }, graceMs);
    try {
      await Promise.all(this.workers.map((w) => w.close()));
    } finally {
      clearTimeout(handBack);
    }
    await this.workerRepo.remove(this.id).catch(() => {});
    this.telemetry.stop();
    await this.telemetry.publish();
    await this.flows.close();
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
    this.options.log.info({ worker: this.id }, 'worker stopped');
  }

  private createWorker(queue: QueueName): Worker<FarmJobData> {
    const name = jobNameOfQueue(queue);
    const processor = FARM_JOBS[name].handler({
      repo: this.repo,
      store: this.options.store,
      stages: this.options.stages,
      flows: this.flows,
      log: this.options.log.child({ worker: this.id, queue }),
      progressIntervalMs: this.options.progressIntervalMs,
      onOutcome: (outcome) => this.count(outcome),
      telemetry: this.telemetry,
    });
    const worker: Worker<FarmJobData> = new Worker<FarmJobData>(
      queue,
      this.track(processor, () => worker),
      {
        connection: this.redis,
        prefix: QUEUE_PREFIX,
        concurrency: this.options.config.concurrency,
        lockDuration: this.options.config.lockS * 1000,
        stalledInterval: this.options.config.lockS * 1000,
        autorun: this.state !== 'blocked',
        name: this.id,
      },
    );
    worker.on('failed', (job, err) => void this.onFailed(job, err));
    worker.on('error', (err) => this.options.log.error({ err, queue }, 'worker error'));
    return worker;
  }

  /** Wraps a processor to know which farm jobs run here (so a cancel can find them). */
  private track(processor: StageProcessor, worker: () => Worker<FarmJobData>): StageProcessor {
    return async (job, token, signal) => {
      const entry = { worker: worker(), bullId: job.id! };
      const set = this.active.get(job.data.jobId) ?? new Set();
      set.add(entry);
      this.active.set(job.data.jobId, set);
      try {
        return await processor(job, token, signal);
      } finally {
        set.delete(entry);
        if (set.size === 0) this.active.delete(job.data.jobId);
      }
    };
  }

  /** Safety net for failures no handler saw (a stalled job failed by BullMQ): the record must not stay running. */
  private async onFailed(job: Job<FarmJobData> | undefined, err: Error): Promise<void> {
    if (!job) return;
    const final = job.finishedOn !== undefined || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final && err.name !== 'WaitingError') await failRecord(this.repo, job.data.jobId, err.message).catch(() => {});
  }

  private count(outcome: 'ok' | StageFailure['kind']): void {
    if (outcome === 'ok') this.consecutiveFailures = 0;
    else if (outcome === 'fault') this.consecutiveFailures += 1;
    if (this.consecutiveFailures >= this.options.config.maxConsecutiveFailures && this.state === 'running') {
      void this.block(`${this.consecutiveFailures} jobs failed in a row`);
    }
  }

  /** Stops taking jobs (running ones finish) and says so in Redis. */
  private async block(reason: string): Promise<void> {
    this.state = 'blocked';
    this.options.log.error(
      { worker: this.id, reason },
      'worker blocked: it takes no more jobs until an operator clears it',
    );
    await this.workerRepo.markBlocked(this.id, reason);
    await Promise.all(this.workers.map((w) => w.pause(true)));
    await this.beat();
  }

  private unblock(): void {
    if (this.state !== 'blocked') return;
    this.state = 'running';
    this.consecutiveFailures = 0;
    for (const w of this.workers) {
      if (w.isPaused()) w.resume();
      else if (!w.isRunning()) void w.run().catch((err: unknown) => this.options.log.error({ err }, 'worker stopped'));
    }
    this.options.log.info({ worker: this.id }, 'worker unblocked');
  }

  private async listen(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === JOB_KEYS.cancel) this.cancel(message);
      if (channel === WORKER_KEYS.control) {
        const msg = JSON.parse(message) as WorkerControlMessage;
        if (msg.workerId === this.id && msg.action === 'unblock') this.unblock();
      }
    });
    await this.subscriber.subscribe(JOB_KEYS.cancel, WORKER_KEYS.control);
  }

  /** Aborts every stage of farm job `id` running in this process. */
  private cancel(id: string): void {
    for (const { worker, bullId } of this.active.get(id) ?? []) {
      if (worker.cancelJob(bullId, ABORT_REASON.cancelled))
        this.options.log.info({ job: id }, 'cancelling running stage');
    }
  }

  private async beat(): Promise<void> {
    try {
      // The operator's unblock may have been missed on pub/sub: Redis is the truth.
      if (this.state === 'blocked' && !(await this.workerRepo.isBlocked(this.id))) this.unblock();
      await this.workerRepo.heartbeat({
        id: this.id,
        role: this.options.role,
        queues: this.options.queues,
        state: this.state,
        consecutiveFailures: this.consecutiveFailures,
      });
      await this.telemetry.publish();
    } catch (err) {
      this.options.log.warn({ err }, 'heartbeat failed');
    }
  }
}
