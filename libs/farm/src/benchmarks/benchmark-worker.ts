import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hdtfMarkdown, hdtfReport, isInputError, type HdtfRow, type ProgressEvent } from '@streamedit/pipeline';
import type { FarmConfig } from '../config';
import { TRAINER_PRESET } from '../jobs/job-record';
import { QUEUE_PREFIX } from '../jobs/queues';
import { runInChildProcess } from '../process/child-process';
import type { ArtifactStore } from '../storage/artifact-store';
import { benchmarkKeys } from '../storage/keys';
import type { BenchmarkJobData, BenchmarkRecord } from './benchmark-record';
import { BenchmarkRepository } from './benchmark-repository';
import { BENCHMARK_QUEUE, type BenchmarkJobName } from './benchmark-queue';

export interface BenchmarkWorkerOptions {
  readonly config: FarmConfig;
  readonly store: ArtifactStore;
  readonly log: Logger;
}

interface Context {
  readonly options: BenchmarkWorkerOptions;
  readonly repo: BenchmarkRepository;
  readonly job: Job<BenchmarkJobData>;
  readonly record: BenchmarkRecord;
  readonly signal: AbortSignal;
}

/** Each benchmark job name's handler: the map is exhaustive by its type. */
const HANDLERS: Record<BenchmarkJobName, (ctx: Context) => Promise<unknown>> = { clip: runClip, report: writeReport };
const CHILD = join(__dirname, 'benchmark-child.js');

/**
 * Serves the benchmark queue: a `clip` job runs the reconstruction protocol on one clip of `FARM_BENCHMARK_DIR` in a
 * child process (so the event loop keeps renewing the job's lock) and stores its rows; `report` joins them into the
 * Markdown / JSON / CSV report of `bench hdtf`.
 */
export class BenchmarkWorker {
  private constructor(
    private readonly worker: Worker<BenchmarkJobData>,
    private readonly redis: Redis,
    private readonly options: BenchmarkWorkerOptions,
  ) {}

  static start(options: BenchmarkWorkerOptions): BenchmarkWorker {
    const redis = new Redis(options.config.redisUrl, { maxRetriesPerRequest: null });
    const repo = new BenchmarkRepository(redis);
    const processor = async (job: Job<BenchmarkJobData>, _token?: string, signal?: AbortSignal) => {
      const record = await repo.get(job.data.benchmarkId);
      if (!record) throw new UnrecoverableError(`Benchmark ${job.data.benchmarkId} has no record.`);
      const ctx = { options, repo, job, record, signal: signal ?? new AbortController().signal };
      return HANDLERS[job.name as BenchmarkJobName](ctx);
    };
    const worker = new Worker<BenchmarkJobData>(BENCHMARK_QUEUE, processor, {
      connection: redis,
      prefix: QUEUE_PREFIX,
      concurrency: options.config.concurrency,
      lockDuration: options.config.lockS * 1000,
      stalledInterval: options.config.lockS * 1000,
      name: `${options.config.workerId}-benchmarks`,
    });
    worker.on('error', (err) => options.log.error({ err }, 'benchmark worker error'));
    return new BenchmarkWorker(worker, redis, options);
  }

  /** Stops taking jobs; a running clip gets `graceMs` to finish, then is aborted (its child killed) and retried elsewhere. */
  async close(graceMs = this.options.config.shutdownGraceS * 1000): Promise<void> {
    const abort = setTimeout(() => this.worker.cancelAllJobs('shutdown'), graceMs);
    try {
      await this.worker.close();
    } finally {
      clearTimeout(abort);
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

async function runClip(ctx: Context): Promise<{ psnr: number }> {
  const { job, record, repo, options } = ctx;
  const clip = job.data.clip!;
  await repo.setState(record.id, 'running');
  await repo.setClip(record.id, { clip, state: 'running' });
  const clipOptions = { frames: record.frames, preset: TRAINER_PRESET[record.preset], ablations: record.ablations };
  try {
    const row = await runInChildProcess<HdtfRow>(
      CHILD,
      [join(options.config.benchmarkDir, clip), JSON.stringify(clipOptions)],
      ctx.signal,
      throttledProgress(job),
    );
    await options.store.putBuffer(benchmarkKeys(record.id).clip(clip), JSON.stringify(row), {
      contentType: 'application/json',
    });
    await repo.setClip(record.id, {
      clip,
      state: 'done',
      psnr: row.full.all.psnr,
      ssimPercent: row.full.all.ssimPercent,
    });
    return { psnr: row.full.all.psnr };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const last = isInputError(err) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    options.log.error({ err, benchmark: record.id, clip, last }, 'benchmark clip failed');
    if (last) {
      await repo.setClip(record.id, { clip, state: 'failed', error: message });
      await repo.setState(record.id, 'failed', `Clip ${clip}: ${message}`);
    }
    throw isInputError(err) ? new UnrecoverableError(message) : err;
  }
}

async function writeReport(ctx: Context): Promise<{ clips: number }> {
  const { record, options } = ctx;
  const keys = benchmarkKeys(record.id);
  const rows: HdtfRow[] = [];
  for (const c of record.clips)
    rows.push(JSON.parse((await options.store.getBuffer(keys.clip(c.clip))).toString('utf8')) as HdtfRow);
  const report = hdtfReport(rows);
  const request = {
    clips: record.clips.map((c) => c.clip),
    frames: record.frames,
    preset: record.preset,
    ablations: record.ablations,
  };
  const put = (format: 'md' | 'json' | 'csv', body: string, contentType: string) =>
    options.store.putBuffer(keys.report(format), body, { contentType });
  await put('md', hdtfMarkdown(report, `POST /v1/benchmarks ${JSON.stringify(request)}`), 'text/markdown');
  await put('json', JSON.stringify({ date: new Date().toISOString(), request, rows }, null, 2), 'application/json');
  await put('csv', report.csv, 'text/csv');
  await ctx.repo.setState(record.id, 'done');
  return { clips: rows.length };
}

/** The child's progress as the BullMQ job's progress, at most once a second. */
function throttledProgress(job: Job<BenchmarkJobData>): (e: ProgressEvent) => void {
  let last = 0;
  return (e) => {
    const now = Date.now();
    if (now - last < 1000 || !e.total) return;
    last = now;
    void job.updateProgress({ step: e.stage, done: e.done, total: e.total }).catch(() => {});
  };
}
