import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, ToolError } from '../errors';
import { logger } from '../log';
import { childFailure, isMissingProgram, runChild } from '../process/child-runner';
import { noProgress, type ProgressListener } from '../progress';
import { REPO_ROOT, settings } from '../settings';
import type { CorrespondencePreset } from './io-spec';

const log = logger('correspondence');

/** Where the trainer package lives (`python -m streamedit_trainer`). */
export const TRAINER_PYTHONPATH = join(REPO_ROOT, 'python');

/** One frame's uncertainty at a check, against its window's reference (scores-ITER.json, written by the trainer). */
export interface FrameUncertainty {
  readonly frame: number;
  readonly reference: number;
  /** Mean σ over the frame (0..1 intensities). */
  readonly meanSigma: number;
  /** Fraction of person-mask pixels with σ > τ. */
  readonly uncertainFraction: number;
  /** Mean photometric residual |cur − warp(ref)| at model resolution. */
  readonly residual: number;
}

/** A check of the training: every frame scored, a checkpoint written. */
export interface CorrespondenceCheck {
  readonly iteration: number;
  readonly total: number;
  readonly checkpoint: string;
  readonly scoresPath: string;
  readonly tau: number;
  readonly frames: readonly FrameUncertainty[];
}

export interface TrainCorrespondenceOptions {
  /** The training data directory (python/streamedit_trainer/io_spec.py). */
  readonly dataDir: string;
  /** Checkpoints and scores go here; a run resumes from the newest valid checkpoint in it. */
  readonly outDir: string;
  /** Default `cpu`. */
  readonly preset?: CorrespondencePreset;
  /** Default: the preset's (cpu 2000, paper 40000, tiny 20). */
  readonly maxIterations?: number;
  /** Default: the preset's (cpu 500, paper 10000, tiny 10). */
  readonly checkEvery?: number;
  /** Exit after the next check (so the caller can change the windows and call again, which resumes). Default false. */
  readonly stopAtCheck?: boolean;
  /** Aborting kills the trainer (its checkpoints are atomic, so a later call resumes). */
  readonly signal?: AbortSignal;
  /** Told the iteration when the trainer resumes from a checkpoint in `outDir` (its `resumed` event). */
  readonly onResume?: (iteration: number) => void;
}

export interface TrainCorrespondenceResult {
  readonly iteration: number;
  /** The newest checkpoint. */
  readonly checkpoint: string;
  /** True when it stopped at a check before the last iteration (`stopAtCheck`). */
  readonly stopped: boolean;
  readonly checks: readonly CorrespondenceCheck[];
}

/** A JSON line of the trainer's stdout. */
export type TrainerEvent = { readonly type: string } & Readonly<Record<string, unknown>>;

export interface RunTrainerOptions {
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: TrainerEvent) => void;
}

/**
 * Runs `python -m streamedit_trainer ARGS` (settings().pythonBin, PYTHONPATH=<repo>/python) and resolves with its
 * JSON events. torch gets `torchThreads` intra-op threads and BLAS 1, so threads × BLAS threads ≤ cores. Exit code 2
 * is an `InputError` (its one-line message), any other failure a `ToolError` carrying the stderr tail. Runs through
 * `runChild`: aborting stops the trainer's whole process group (SIGTERM, SIGKILL after the grace period).
 */
export async function runTrainerCommand(
  args: readonly string[],
  options: RunTrainerOptions = {},
): Promise<TrainerEvent[]> {
  const { signal, onEvent } = options;
  signal?.throwIfAborted();
  const threads = String(settings().torchThreads);
  const events: TrainerEvent[] = [];
  let callbackError: unknown;
  // A failing callback stops the trainer (its error is the one reported); the runner stops the whole group.
  const stopOnCallbackError = new AbortController();
  const stopping = signal ? AbortSignal.any([signal, stopOnCallbackError.signal]) : stopOnCallbackError.signal;
  const label = `The correspondence trainer (${args[0]})`;
  try {
    const exit = await runChild({
      command: settings().pythonBin,
      args: ['-m', 'streamedit_trainer', ...args],
      label,
      cwd: REPO_ROOT,
      signal: stopping,
      env: {
        PYTHONPATH: TRAINER_PYTHONPATH,
        PYTHONUNBUFFERED: '1',
        STREAMEDIT_TORCH_THREADS: threads,
        OMP_NUM_THREADS: threads,
        OPENBLAS_NUM_THREADS: '1',
        MKL_NUM_THREADS: '1',
      },
      onStdoutLine: (line) => {
        const event = parseEvent(line);
        if (!event) return void log.debug({ line }, 'trainer output');
        events.push(event);
        try {
          onEvent?.(event);
        } catch (err) {
          callbackError ??= err;
          stopOnCallbackError.abort(err);
        }
      },
    });
    if (exit.code === 0) return events;
    if (exit.code === 2) throw new InputError(exit.lastStderrLine || `the trainer rejected its input (${args[0]}).`);
    throw childFailure(label, exit);
  } catch (err) {
    if (callbackError !== undefined) throw callbackError;
    if (isMissingProgram(err)) {
      throw new InputError(
        `Python ${settings().pythonBin} was not found; set STREAMEDIT_PYTHON to an interpreter with PyTorch.`,
      );
    }
    throw err;
  }
}

function parseEvent(line: string): TrainerEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as TrainerEvent).type === 'string'
      ? (value as TrainerEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Trains (or resumes) the per-video correspondence model in a Python child process. Progress ticks reach
 * `onProgress` as stage `correspondence` (done = iteration, info = losses, σ, iter/s); each check reaches `onCheck`
 * with every frame's uncertainty scores. Resolves when the trainer finishes or stops at a check.
 */
export async function trainCorrespondence(
  options: TrainCorrespondenceOptions,
  onProgress: ProgressListener = noProgress,
  onCheck: (check: CorrespondenceCheck) => void | Promise<void> = () => {},
): Promise<TrainCorrespondenceResult> {
  const args = ['train', '--data', options.dataDir, '--out', options.outDir, '--preset', options.preset ?? 'cpu'];
  if (options.maxIterations !== undefined) args.push('--max-iterations', String(options.maxIterations));
  if (options.checkEvery !== undefined) args.push('--check-every', String(options.checkEvery));
  if (options.stopAtCheck) args.push('--stop-at-check');
  const checks: CorrespondenceCheck[] = [];
  const pending: Promise<void>[] = [];
  const events = await runTrainerCommand(args, {
    signal: options.signal,
    onEvent: (e) => {
      if (e.type === 'progress') onProgress(progressEvent(e));
      if (e.type === 'resumed') options.onResume?.(Number(e.iteration));
      if (e.type === 'check') {
        const handled = readCheck(e).then(async (check) => {
          checks.push(check);
          await onCheck(check);
        });
        // Awaited below, after the trainer exits; until then a failure must not count as an unhandled rejection.
        handled.catch(() => {});
        pending.push(handled);
      }
    },
  });
  await Promise.all(pending);
  const end = [...events].reverse().find((e) => e.type === 'done' || e.type === 'stopped');
  if (!end || typeof end.checkpoint !== 'string')
    throw new ToolError('The correspondence trainer ended without a checkpoint.', JSON.stringify(events.slice(-3)));
  return { iteration: Number(end.iteration), checkpoint: end.checkpoint, stopped: end.type === 'stopped', checks };
}

function progressEvent(e: TrainerEvent): Parameters<ProgressListener>[0] {
  const info: Record<string, number> = {};
  for (const key of ['loss', 'l_rec', 'l_unc', 'mean_sigma', 'iter_per_s'] as const) {
    if (typeof e[key] === 'number') info[key] = e[key] as number;
  }
  return { stage: 'correspondence', done: Number(e.iteration), total: Number(e.total), info };
}

async function readCheck(e: TrainerEvent): Promise<CorrespondenceCheck> {
  const scoresPath = String(e.scores);
  const body = JSON.parse(await readFile(scoresPath, 'utf8')) as { tau: number; frames: FrameUncertainty[] };
  return {
    iteration: Number(e.iteration),
    total: Number(e.total),
    checkpoint: String(e.checkpoint),
    scoresPath,
    tau: body.tau,
    frames: body.frames,
  };
}

/** Options of `exportOnnx`. */
export interface ExportOnnxOptions {
  /**
   * Horn-Schunck iterations [at 1/2 of the internal resolution, internal, full model resolution] baked into the
   * graph. The stage has no weights, so this trades accuracy for speed without retraining. Default: the trainer
   * code's (`ModelConfig` in python/streamedit_trainer/model.py: 12, 20, 3), whatever the checkpoint was trained with.
   */
  readonly hsIterations?: readonly [number, number, number];
}

/** Exports a checkpoint to ONNX (opset 16, fixed size, names of io-spec.ts) at `out`; resolves with `out`. */
export async function exportOnnx(
  checkpoint: string,
  out: string,
  signal?: AbortSignal,
  options: ExportOnnxOptions = {},
): Promise<string> {
  const args = ['export', '--checkpoint', checkpoint, '--out', out];
  if (options.hsIterations) args.push('--hs-iterations', options.hsIterations.join(','));
  await runTrainerCommand(args, { signal });
  return out;
}
