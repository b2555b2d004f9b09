import { randomUUID } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobRecord } from '../jobs/job-record';

/** Stage attempts last from a second (mux of a short clip) to hours (the paper's 40k-iteration training). */
const STAGE_BUCKETS_S = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];
/** Jobs, from upload to their end: queue wait included (what a client waits). */
const JOB_BUCKETS_S = [5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400];

/**
 * The farm's own Prometheus metrics, updated where the work happens (stage handlers, the job repository) in
 * whichever process that is: a worker, or the API (a cancel ends a job there). Each process keeps them in its own
 * registry; workers publish it to Redis (`publishMetricsSnapshot`) and the API's `/metrics` sums every process's
 * snapshot with its own (`readMetricsSnapshots`), so one scrape of the API sees the whole farm. `instanceId`
 * names this process's snapshot, so the API never counts the process it runs in twice.
 *
 * Every worker-side series has a `worker` label (bounded by the live workers), never a job id.
 */
export class FarmMetrics {
  readonly registry = new Registry();
  readonly instanceId = randomUUID();

  /** Seconds per stage attempt, by how it ended (`ok`, `fault`, `input`, `cancelled`, `handed-back`). */
  readonly stageDuration = new Histogram({
    name: 'streamedit_stage_duration_seconds',
    help: 'Duration of one stage attempt (analyze, train, one render window, mux), by outcome.',
    labelNames: ['stage', 'outcome'] as const,
    buckets: STAGE_BUCKETS_S,
    registers: [this.registry],
  });

  /** Seconds from upload to the job's end, by final state. */
  readonly jobDuration = new Histogram({
    name: 'streamedit_job_duration_seconds',
    help: 'Time from upload to the end of a job (done, failed or cancelled), queue wait included.',
    labelNames: ['state'] as const,
    buckets: JOB_BUCKETS_S,
    registers: [this.registry],
  });

  /** Failed attempts per worker: `fault` (retried; counts toward blocking the worker) or `input` (bad input). */
  readonly stageFailures = new Counter({
    name: 'streamedit_stage_failures_total',
    help: 'Stage attempts that failed, per worker and stage; kind fault = internal error, input = bad input.',
    labelNames: ['worker', 'stage', 'kind'] as const,
    registers: [this.registry],
  });

  /** Attempts that were retries (BullMQ attempt ≥ 2) per worker. */
  readonly stageRetries = new Counter({
    name: 'streamedit_stage_retries_total',
    help: 'Stage attempts that retried an earlier failed attempt, per worker and stage.',
    labelNames: ['worker', 'stage'] as const,
    registers: [this.registry],
  });

  readonly trainingIterations = new Counter({
    name: 'streamedit_training_iterations_total',
    help: 'Correspondence training iterations run (rate() = farm training speed), per worker.',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  readonly trainingRate = new Gauge({
    name: 'streamedit_training_iterations_per_second',
    help: "Training speed of the worker's current (or last) train attempt, in iterations per second.",
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  readonly renderFrames = new Counter({
    name: 'streamedit_render_frames_total',
    help: 'Frames rendered (propagated edit), per worker.',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  readonly renderFps = new Gauge({
    name: 'streamedit_render_frames_per_second',
    help: "Frames per second of the worker's last render window (whole attempt: downloads and uploads included).",
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });

  /** Observes a job that just reached a terminal state (called once per job, by the repository). */
  observeJobEnd(record: Pick<JobRecord, 'state' | 'createdAt' | 'finishedAt' | 'updatedAt'>): void {
    const end = Date.parse(record.finishedAt ?? record.updatedAt);
    const start = Date.parse(record.createdAt);
    if (Number.isFinite(end) && Number.isFinite(start) && end >= start)
      this.jobDuration.observe({ state: record.state }, (end - start) / 1000);
  }
}

let shared: FarmMetrics | undefined;

/** This process's farm metrics (one registry per process, like prom-client's default one). */
export function farmMetrics(): FarmMetrics {
  shared ??= new FarmMetrics();
  return shared;
}
