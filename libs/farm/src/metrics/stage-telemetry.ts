import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ProgressEvent, ProgressListener } from '@streamedit/pipeline';
import type { JobRecord } from '../jobs/job-record';
import type { StageName } from '../jobs/states';
import { farmMetrics, type FarmMetrics } from './farm-metrics';
import { JobLog, teeLogger } from './job-log';
import { publishMetricsSnapshot } from './snapshots';
import { keepSample, TrainingSamples } from './training-samples';

/** How a stage attempt ended (the handlers' `StageFailure` kinds, or `ok`). */
export type StageOutcome = 'ok' | 'fault' | 'input' | 'cancelled' | 'handed-back';

/** Which attempt of which stage a watch follows. */
export interface WatchedAttempt {
  readonly jobId: string;
  readonly stage: StageName;
  /** 1-based BullMQ attempt number (2+ is a retry). */
  readonly attempt: number;
  readonly window?: number;
}

/** The training speed is measured over spans of at least this long (trainers report in bursts). */
const RATE_SPAN_MS = 2000;

/**
 * What a worker records about its stage attempts besides running them: Prometheus metrics (`FarmMetrics`), the job's
 * event log (`JobLog`, fed by teeing the attempt's logger) and the training curve (`TrainingSamples`). One per
 * worker process; the handlers call `begin` for each attempt. Nothing here may fail a stage: Redis writes are
 * fire-and-forget with their errors swallowed.
 */
export class StageTelemetry {
  readonly metrics: FarmMetrics;
  private readonly log: JobLog;
  private readonly samples: TrainingSamples;
  private publishing?: Promise<void>;
  private publishTimer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    readonly workerId: string,
    metrics: FarmMetrics = farmMetrics(),
  ) {
    this.metrics = metrics;
    this.log = new JobLog(redis);
    this.samples = new TrainingSamples(redis);
  }

  /** Starts following one attempt (a retry is counted here). */
  begin(attempt: WatchedAttempt): StageWatch {
    if (attempt.attempt > 1) this.metrics.stageRetries.inc({ worker: this.workerId, stage: attempt.stage });
    return new StageWatch(this, attempt, this.log, this.samples);
  }

  /** Publishes this process's metrics for the API's `/metrics` now. */
  async publish(): Promise<void> {
    this.publishing ??= publishMetricsSnapshot(this.redis, this.metrics)
      .catch(() => {})
      .finally(() => (this.publishing = undefined));
    await this.publishing;
  }

  /** Publishes within a second (coalescing bursts: a render chain ends many attempts in a row). */
  publishSoon(): void {
    this.publishTimer ??= setTimeout(() => {
      this.publishTimer = undefined;
      void this.publish();
    }, 1000);
    this.publishTimer.unref();
  }

  /** Stops the pending publish (the worker publishes once more itself when it closes). */
  stop(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
  }
}

/** One attempt being followed: see {@link StageTelemetry}. */
export class StageWatch {
  private readonly started = performance.now();
  private iterationsAtStart = 0;
  private lastIteration: number | undefined;
  private lastKept: number | undefined;
  private firstTick: { iteration: number; t: number } | undefined;
  private span: { iteration: number; t: number } | undefined;
  private ended = false;
  private reportedRate = false;

  constructor(
    private readonly telemetry: StageTelemetry,
    private readonly attempt: WatchedAttempt,
    private readonly jobLog: JobLog,
    private readonly samples: TrainingSamples,
  ) {}

  private get worker(): string {
    return this.telemetry.workerId;
  }

  /** The record as the attempt found it: training resumes count only the iterations run in this attempt. */
  entered(record: JobRecord): void {
    this.iterationsAtStart = record.iterations?.done ?? 0;
  }

  /** `log`, teed into the job's event log (with this attempt's stage, window, attempt and worker). */
  logger(log: Logger): Logger {
    const { jobId, stage, window, attempt } = this.attempt;
    return teeLogger(log, (event) => {
      void this.jobLog.append(jobId, {
        ...event,
        stage,
        attempt,
        source: this.worker,
        ...(window !== undefined ? { window } : {}),
      });
    });
  }

  /** `listener`, plus training speed and curve samples from the train stage's events. */
  tap(listener: ProgressListener): ProgressListener {
    return (event) => {
      listener(event);
      if (this.attempt.stage === 'train') this.onTrainTick(event);
    };
  }

  /** Records the attempt's end: duration, failures, render fps, training speed; publishes soon. */
  end(outcome: StageOutcome, result?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    const m = this.telemetry.metrics;
    const seconds = (performance.now() - this.started) / 1000;
    const { stage } = this.attempt;
    m.stageDuration.observe({ stage, outcome }, seconds);
    if (outcome === 'fault' || outcome === 'input') m.stageFailures.inc({ worker: this.worker, stage, kind: outcome });
    if (stage === 'render' && outcome === 'ok') {
      const frames = Number((result as { frames?: unknown } | undefined)?.frames ?? 0);
      if (frames > 0) {
        m.renderFrames.inc({ worker: this.worker }, frames);
        m.renderFps.set({ worker: this.worker }, frames / Math.max(seconds, 1e-3));
      }
    }
    if (stage === 'train') this.endTraining(seconds);
    this.telemetry.publishSoon();
  }

  private onTrainTick(event: ProgressEvent): void {
    const iteration = numberInfo(event, 'iteration') ?? event.done;
    const total = numberInfo(event, 'iterations') ?? event.total ?? iteration;
    if (!Number.isFinite(iteration)) return;
    const now = performance.now();
    const m = this.telemetry.metrics;
    const previous = this.lastIteration ?? this.iterationsAtStart;
    if (iteration > previous) m.trainingIterations.inc({ worker: this.worker }, iteration - previous);
    this.lastIteration = iteration;
    this.firstTick ??= { iteration, t: now };
    // The trainer measures its own speed (`iter_per_s`, without start-up and check pauses): preferred when given.
    const reported = numberInfo(event, 'iter_per_s');
    if (reported !== undefined) {
      this.reportedRate = true;
      m.trainingRate.set({ worker: this.worker }, reported);
    } else if (!this.span) this.span = { iteration, t: now };
    else if (now - this.span.t >= RATE_SPAN_MS) {
      const rate = ((iteration - this.span.iteration) * 1000) / (now - this.span.t);
      if (rate >= 0) m.trainingRate.set({ worker: this.worker }, rate);
      this.span = { iteration, t: now };
    }
    if (keepSample(iteration, total, this.lastKept)) {
      this.lastKept = iteration;
      void this.samples
        .add(this.attempt.jobId, {
          iteration,
          loss: numberInfo(event, 'loss') ?? null,
          sigma: numberInfo(event, 'mean_sigma') ?? null,
          at: Date.now(),
        })
        .catch(() => {});
    }
  }

  /** The attempt's training speed: between its first and last ticks, or over the whole attempt when too short. */
  private endTraining(seconds: number): void {
    if (this.reportedRate || this.lastIteration === undefined || !this.firstTick) return;
    const ticked = (performance.now() - this.firstTick.t) / 1000;
    const rate =
      ticked >= 1
        ? (this.lastIteration - this.firstTick.iteration) / ticked
        : (this.lastIteration - this.iterationsAtStart) / Math.max(seconds, 1e-3);
    if (rate > 0) this.telemetry.metrics.trainingRate.set({ worker: this.worker }, rate);
  }
}

function numberInfo(event: ProgressEvent, key: string): number | undefined {
  const v = event.info?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
