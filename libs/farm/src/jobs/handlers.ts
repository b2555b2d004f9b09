import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { UnrecoverableError, WaitingError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { isInputError } from '@streamedit/pipeline';
import type { StageTelemetry, StageWatch } from '../metrics/stage-telemetry';
import type { ArtifactStore } from '../storage/artifact-store';
import { isTransientError } from '../storage/retry';
import { jobKeys } from '../storage/keys';
import type { FlowScheduler } from './flows';
import type { JobRecord, RenderWindow } from './job-record';
import type { JobRepository } from './job-repository';
import { createProgressReporter } from './progress-reporter';
import type { FarmJobData } from './queues';
import type { FarmStages, StageContext } from './stages';
import { IllegalTransitionError, STAGE_STATE, type StageName } from './states';
import { userFacingMessage } from './user-message';

/** Abort reasons a worker gives BullMQ's `cancelJob`: a user cancel, or a shutdown that hands the job back. */
export const ABORT_REASON = { cancelled: 'cancelled', shutdown: 'shutdown' } as const;

/** What the handlers need; built once per worker process. */
export interface HandlerDeps {
  readonly repo: JobRepository;
  readonly store: ArtifactStore;
  readonly stages: FarmStages;
  readonly flows: FlowScheduler;
  readonly log: Logger;
  /** Least time between two progress writes to Redis. Default 500 ms. */
  readonly progressIntervalMs?: number;
  /** Told how each attempt ended (the worker counts consecutive faults). */
  readonly onOutcome?: (outcome: 'ok' | StageFailure['kind']) => void;
  /** Metrics, the job's event log and training curve (the worker's); none: nothing is recorded. */
  readonly telemetry?: StageTelemetry;
}

/** A BullMQ processor. Three declared parameters: BullMQ passes the abort signal only to processors that take it. */
export type StageProcessor = (
  job: Job<FarmJobData>,
  token: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<unknown>;

/**
 * How a stage attempt ended, for the worker's consecutive-failure count: only `fault` (an internal error) counts;
 * bad input, a cancel or a shutdown say nothing about the worker's health.
 */
export class StageFailure extends Error {
  constructor(
    readonly kind: 'fault' | 'input' | 'cancelled' | 'handed-back',
    readonly forBullmq: Error,
  ) {
    super(forBullmq.message);
  }
}

/**
 * One attempt of a stage on one BullMQ job: everything its steps need, built once by {@link stageProcessor}
 * (instead of threading job, token, signal, logger and telemetry through every call).
 */
export interface StageAttempt {
  readonly deps: HandlerDeps;
  readonly stage: StageName;
  readonly job: Job<FarmJobData>;
  /** BullMQ's lock token (needed to hand the job back on shutdown). */
  readonly token: string | undefined;
  /** Aborted by a cancel or a shutdown (`ABORT_REASON`); a never-aborted signal when BullMQ gave none. */
  readonly signal: AbortSignal;
  /** The attempt's logger (job, stage, attempt, window bound; mirrored to the job's event log with telemetry). */
  readonly log: Logger;
  /** The attempt's metrics and event log; undefined when the worker records none. */
  readonly telemetry: StageWatch | undefined;
}

/** What a stage does in an attempt: `body` with the stage context; `complete` after the timing is booked. */
interface StageWork<R> {
  readonly body: (ctx: StageContext, attempt: StageAttempt) => Promise<R>;
  readonly complete?: (attempt: StageAttempt) => Promise<void>;
}

export function analyzeHandler(deps: HandlerDeps): StageProcessor {
  return stageProcessor(deps, 'analyze', { body: (ctx) => deps.stages.analyze(ctx) });
}

export function trainHandler(deps: HandlerDeps): StageProcessor {
  return stageProcessor(deps, 'train', {
    body: async (ctx) => {
      const result = await deps.stages.train(ctx);
      const windows = deps.flows.renderWindowsOf(checkWindows(result.windows, ctx.job.input.frameCount));
      const updated = await deps.repo.update(ctx.job.id, ['training'], {
        windows,
        windowsDone: 0,
        iterations: { done: result.iterations, total: Math.max(result.iterations, ctx.job.iterations?.total ?? 0) },
      });
      if (!updated) throw new CancelledDuringStage();
      // Last step of the attempt: once the render jobs are added, mux waits for them (see FlowScheduler).
      await deps.flows.addRenderWindows(updated, windows);
      return { iterations: result.iterations, windows: windows.length };
    },
  });
}

export function renderHandler(deps: HandlerDeps): StageProcessor {
  return stageProcessor(deps, 'render', {
    body: async (ctx, { job }) => {
      const windows = ctx.job.windows;
      const window = windows?.find((w) => w.index === job.data.window);
      if (!windows || !window)
        throw new UnrecoverableError(`Render window ${job.data.window} is not in the job's windows.`);
      const result = await deps.stages.renderWindow({ ...ctx, window, windowCount: windows.length });
      const updated = await deps.repo.markWindowDone(ctx.job.id, window.index);
      if (!updated) throw new CancelledDuringStage();
      return result;
    },
  });
}

export function muxHandler(deps: HandlerDeps): StageProcessor {
  return stageProcessor(deps, 'mux', {
    body: async (ctx) => {
      const windows = ctx.job.windows ?? [];
      const result = await deps.stages.mux({ ...ctx, windows });
      if (!(await deps.store.exists(ctx.keys.output)))
        throw new Error(`The mux stage did not store ${ctx.keys.output}.`);
      const report = {
        ...result.report,
        id: ctx.job.id,
        edit: ctx.job.edit.kind,
        preset: ctx.job.preset,
        input: ctx.job.input,
        iterations: ctx.job.iterations?.done ?? null,
        windows,
        timings: ctx.job.timings,
      };
      await deps.store.putBuffer(ctx.keys.report, JSON.stringify(report, null, 2), {
        contentType: 'application/json',
      });
      return { windows: windows.length };
    },
    complete: ({ job }) => finish(deps.repo, job.data.jobId),
  });
}

/** The job is done (unless it was cancelled while muxing: then it stays cancelled). */
async function finish(repo: JobRepository, id: string): Promise<void> {
  try {
    await repo.transition(id, 'done', { progress: 100, finishedAt: new Date().toISOString() });
  } catch (err) {
    if (err instanceof IllegalTransitionError && err.from === 'cancelled') throw new CancelledDuringStage();
    throw err;
  }
}

/** The record changed to a terminal state (a cancel) while the stage ran. */
class CancelledDuringStage extends Error {
  constructor() {
    super('Job cancelled.');
  }
}

/** The BullMQ processor of a stage: builds the {@link StageAttempt}, runs it and reports its outcome. */
function stageProcessor<R>(deps: HandlerDeps, stage: StageName, work: StageWork<R>): StageProcessor {
  return (job, token, signal) => {
    const telemetry = deps.telemetry?.begin({
      jobId: job.data.jobId,
      stage,
      attempt: job.attemptsMade + 1,
      window: job.data.window,
    });
    const plainLog = deps.log.child({
      job: job.data.jobId,
      stage,
      attempt: job.attemptsMade + 1,
      window: job.data.window,
    });
    return runStage(
      {
        deps,
        stage,
        job,
        token,
        signal: signal ?? new AbortController().signal,
        log: telemetry ? telemetry.logger(plainLog) : plainLog,
        telemetry,
      },
      work,
    );
  };
}

/** Runs one attempt and reports its outcome; BullMQ gets the error that says what to do with the job. */
async function runStage<R>(a: StageAttempt, work: StageWork<R>): Promise<R> {
  try {
    const result = await attempt(a, work);
    a.deps.onOutcome?.('ok');
    a.telemetry?.end('ok', result);
    return result;
  } catch (err) {
    const failure =
      err instanceof StageFailure
        ? err
        : new StageFailure('fault', err instanceof Error ? err : new Error(String(err)));
    a.deps.onOutcome?.(failure.kind);
    a.telemetry?.end(failure.kind);
    throw failure.forBullmq;
  }
}

/**
 * One attempt of a stage: checks and moves the record's state, gives the stage a fresh work dir, progress and the
 * abort signal, and turns the outcome into what BullMQ should do (complete, retry, fail for good, hand back).
 */
async function attempt<R>(a: StageAttempt, work: StageWork<R>): Promise<R> {
  const { deps, stage, job, log, telemetry, signal } = a;
  const id = job.data.jobId;
  const record = await enter(deps.repo, id, stage);
  telemetry?.entered(record);
  const workDir = await mkdtemp(join(tmpdir(), `streamedit-${stage}-`));
  const reporter = createProgressReporter({
    repo: deps.repo,
    job,
    record,
    stage,
    log,
    intervalMs: deps.progressIntervalMs,
  });
  const started = performance.now();
  let result: R;
  try {
    log.info('stage started');
    result = await work.body(
      {
        job: record,
        keys: jobKeys(id),
        store: deps.store,
        workDir,
        progress: telemetry ? telemetry.tap(reporter.listener) : reporter.listener,
        signal,
        log,
      },
      a,
    );
    signal.throwIfAborted();
    log.info({ ms: Math.round(performance.now() - started) }, 'stage done');
  } catch (err) {
    throw await settleFailure(a, err);
  } finally {
    await reporter.close();
    await rm(workDir, { recursive: true, force: true });
    await deps.repo.addTiming(id, stage, performance.now() - started);
  }
  // After the timing is booked: a client that sees `done` sees every stage's time.
  if (work.complete) await work.complete(a).catch(async (err: unknown) => Promise.reject(await settleFailure(a, err)));
  return result;
}

/** Moves the record into the stage's state; a job that is already finished is not run again. */
async function enter(repo: JobRepository, id: string, stage: StageName): Promise<JobRecord> {
  const record = await repo.get(id);
  if (!record) throw new StageFailure('input', new UnrecoverableError(`Job ${id} has no record (deleted?).`));
  try {
    return await repo.transition(id, STAGE_STATE[stage], {
      stage,
      startedAt: record.startedAt ?? new Date().toISOString(),
    });
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
    if (err.from === 'cancelled') throw new StageFailure('cancelled', new UnrecoverableError('Job cancelled.'));
    throw new StageFailure('input', new UnrecoverableError(`Job ${id} is ${err.from}; stage ${stage} is not run.`));
  }
}

/**
 * Decides what a failed attempt means. Cancel: fail for good (the record is already `cancelled`). Shutdown: hand
 * the job back to the wait list without spending an attempt. Bad input: fail the record now, no retry. Anything
 * else: retry with backoff, and fail the record when this was the last attempt.
 */
async function settleFailure(a: StageAttempt, err: unknown): Promise<StageFailure> {
  const { deps, job, token, stage, signal, log } = a;
  const id = job.data.jobId;
  if (err instanceof StageFailure) return err;
  if (signal.aborted && signal.reason === ABORT_REASON.shutdown && token) {
    log.info('worker shutting down: job handed back');
    await job.moveToWait(token);
    return new StageFailure('handed-back', new WaitingError());
  }
  if ((signal.aborted && signal.reason === ABORT_REASON.cancelled) || err instanceof CancelledDuringStage) {
    log.info('stage cancelled');
    return new StageFailure('cancelled', new UnrecoverableError('Job cancelled.'));
  }
  const message = err instanceof Error ? err.message : String(err);
  if (isInputError(err) || err instanceof UnrecoverableError) {
    log.warn({ reason: message }, 'stage rejected its input');
    await failRecord(deps.repo, id, message);
    return new StageFailure('input', new UnrecoverableError(message));
  }
  const attempts = job.opts.attempts ?? 1;
  const last = job.attemptsMade + 1 >= attempts;
  log.error({ err, last }, 'stage failed');
  if (last) await failRecord(deps.repo, id, finalError(stage, attempts, err, message));
  return new StageFailure('fault', err instanceof Error ? err : new Error(message));
}

/**
 * The record's error after the last attempt. A storage or network outage says so, and that the job can be retried
 * once it is back (an operator's retry copies the stored checkpoints, so training resumes where it stopped).
 */
function finalError(stage: StageName, attempts: number, err: unknown, message: string): string {
  const head = `The ${stage} stage failed after ${attempts} attempt(s)`;
  if (!isTransientError(err)) return `${head}: ${message}`;
  return `${head}: the artifact storage did not answer (${message}). Retry the job once storage is back: it resumes from its stored checkpoints.`;
}

/**
 * Marks the record failed unless it already ended (a cancel wins over a failure it caused). The recorded error is
 * the user's version of `error` (no server paths, addresses or setting names: `userFacingMessage`).
 */
export async function failRecord(repo: JobRepository, id: string, error: string): Promise<void> {
  try {
    await repo.transition(id, 'failed', { error: userFacingMessage(error), finishedAt: new Date().toISOString() });
  } catch (err) {
    if (!(err instanceof IllegalTransitionError)) throw err;
  }
}

/**
 * Checks the train stage's windows: at least one, contiguous from frame 0, reference inside its window, within the
 * video (the pipeline may process fewer frames than the file has, never more).
 */
export function checkWindows(windows: ReadonlyArray<Omit<RenderWindow, 'index'>>, frameCount: number): RenderWindow[] {
  if (windows.length === 0) throw new Error('The train stage returned no render windows.');
  let expectedStart = 0;
  const out: RenderWindow[] = [];
  for (const [index, w] of windows.entries()) {
    const ok =
      [w.start, w.end, w.reference].every(Number.isInteger) &&
      w.start === expectedStart &&
      w.end > w.start &&
      w.reference >= w.start &&
      w.reference < w.end;
    if (!ok) throw new Error(`The train stage returned an invalid render window ${index}: ${JSON.stringify(w)}.`);
    out.push({ index, reference: w.reference, start: w.start, end: w.end });
    expectedStart = w.end;
  }
  if (expectedStart > frameCount) {
    throw new Error(
      `The train stage's windows cover frames 0–${expectedStart - 1}, but the video has only ${frameCount}.`,
    );
  }
  return out;
}
