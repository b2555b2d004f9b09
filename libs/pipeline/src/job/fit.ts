import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initialWindows, replaceReferences, type ArrOptions, type ReferenceWindow } from '../arr/reference-windows';
import { modelSize, PRESET_SIDE, type CorrespondencePreset } from '../correspondence/io-spec';
import { exportOnnx, trainCorrespondence } from '../correspondence/trainer';
import { logger } from '../log';
import { noProgress, type ProgressListener } from '../progress';
import { latestFitState, writeFitState, type FitState } from './fit-state';
import { writeTrainingData } from './training-data';
import { workLayout } from './work-dir';

export interface FitOptions {
  readonly preset: CorrespondencePreset;
  readonly maxIterations?: number;
  readonly checkEvery?: number;
  /** User keyframes: each forces a reference. */
  readonly keyframes: readonly number[];
  /** ARR parameters; `undefined` = a single reference (no replacement). */
  readonly arr?: ArrOptions;
  /** Train only on the first N frames (the streaming split); the rest are seen only at inference. */
  readonly trainFrames?: number;
  readonly signal?: AbortSignal;
  /** Folder under the work dir for checkpoints and the ONNX model [`model`]. */
  readonly modelDir?: string;
  /**
   * Called at every check once its checkpoint and ARR state are on disk (`fitStateFiles(iteration)` in the model
   * folder), e.g. to copy them somewhere safe; awaited before training goes on past the next check [none].
   */
  readonly onCheck?: (state: FitState, modelDir: string) => void | Promise<void>;
  /** Told the iteration each time the trainer resumes from a checkpoint (after every ARR check, and after a crash) [none]. */
  readonly onResume?: (iteration: number) => void;
}

export interface FitResult {
  readonly onnxPath: string;
  readonly windows: readonly ReferenceWindow[];
  readonly iterations: number;
  /** Windows at every check, for reports. */
  readonly history: ReadonlyArray<{ readonly iteration: number; readonly windows: number; readonly meanSigma: number }>;
  /** What was asked for (a reused fit must match it) and the trainer's mean speed (iterations per second of training). */
  readonly preset: CorrespondencePreset;
  readonly requestedIterations: number | null;
  readonly iterPerSecond: number;
}

/**
 * The `train` stage with ARR (paper 3.2): train until the next periodic uncertainty check, let ARR split windows
 * whose frames passed the threshold, rewrite the trainer's data (references, landmark init flows), resume from the
 * checkpoint; after the last iteration export the model to ONNX. A model folder that already holds a complete check
 * (see fit-state.ts) is resumed from it, windows included: a fit killed at any point continues where it stopped.
 */
export async function fitModel(
  workDir: string,
  options: FitOptions,
  onProgress: ProgressListener = noProgress,
): Promise<FitResult> {
  const dirs = workLayout(workDir);
  const modelDir = options.modelDir ? join(workDir, options.modelDir) : dirs.model;
  const meta = JSON.parse(await readFile(join(dirs.frames, 'frames.json'), 'utf8')) as {
    count: number;
    width: number;
    height: number;
  };
  const size = modelSize(meta.width, meta.height, PRESET_SIDE[options.preset]);
  const saved = await latestFitState(modelDir);
  // A state over another frame count belongs to an older analysis (analyzeVideo clears those; this is the guard).
  const resumed = saved?.windows[saved.windows.length - 1]?.end === meta.count ? saved : undefined;
  let windows = resumed?.windows ?? initialWindows(meta.count, options.keyframes);
  await writeTrainingData(workDir, windows, size, options.trainFrames);
  const history: { iteration: number; windows: number; meanSigma: number }[] = [...(resumed?.history ?? [])];
  const speeds: number[] = [];
  const listener: ProgressListener = (e) => {
    if (e.stage === 'correspondence' && typeof e.info?.iter_per_s === 'number') speeds.push(e.info.iter_per_s);
    onProgress(e);
  };
  for (;;) {
    const result = await trainCorrespondence(
      {
        dataDir: dirs.train,
        outDir: modelDir,
        preset: options.preset,
        maxIterations: options.maxIterations,
        checkEvery: options.checkEvery,
        stopAtCheck: options.arr !== undefined,
        signal: options.signal,
        onResume: options.onResume,
      },
      listener,
      async (check) => {
        const meanSigma = check.frames.reduce((s, f) => s + f.meanSigma, 0) / Math.max(1, check.frames.length);
        history.push({ iteration: check.iteration, windows: windows.length, meanSigma });
        // No replacement at the last check: the model would never train on the new windows.
        if (options.arr && check.iteration < check.total) {
          const scores = new Float32Array(meta.count);
          for (const f of check.frames) scores[f.frame] = f.uncertainFraction;
          // The streaming split: frames the trainer must not see cannot become references either.
          if (options.trainFrames !== undefined) scores.fill(0, options.trainFrames);
          windows = replaceReferences(windows, scores, options.arr);
        }
        const state: FitState = { iteration: check.iteration, windows, history: [...history] };
        await writeFitState(modelDir, state);
        await options.onCheck?.(state, modelDir);
      },
    );
    if (!result.stopped) {
      const onnxPath = await exportOnnx(result.checkpoint, join(modelDir, 'model.onnx'), options.signal);
      logger('fit').info({ iterations: result.iteration, windows: windows.length }, 'model fitted');
      const iterPerSecond = speeds.length ? speeds.reduce((a, b) => a + b, 0) / speeds.length : Number.NaN;
      const fit: FitResult = {
        onnxPath,
        windows,
        iterations: result.iteration,
        history,
        preset: options.preset,
        requestedIterations: options.maxIterations ?? null,
        iterPerSecond,
      };
      await writeFit(modelDir, fit);
      return fit;
    }
    await writeTrainingData(workDir, windows, size, options.trainFrames);
  }
}

/**
 * Writes `modelDir/fit.json`: the file that says a fit is finished (read by {@link loadFit} and by live sessions'
 * `openLiveSource`). Written last, after the model it names.
 */
export async function writeFit(modelDir: string, fit: FitResult): Promise<void> {
  await writeFile(join(modelDir, 'fit.json'), JSON.stringify(fit, null, 2));
}

/** The model folder of a kind of fit in a work dir: `model` (ARR), `model-single` (one reference), `-split` (streaming split). */
export function fitDirName(arr: boolean, split: boolean): string {
  return `model${arr ? '' : '-single'}${split ? '-split' : ''}`;
}

/**
 * A finished fit in `modelDir` (its `fit.json` and model) over `frameCount` frames with the same preset and
 * iteration count, if there is one (benchmarks reuse it; a fit made with other settings is not reused).
 */
export async function loadFit(
  modelDir: string,
  frameCount: number,
  preset: CorrespondencePreset,
  maxIterations?: number,
): Promise<FitResult | undefined> {
  try {
    const fit = JSON.parse(await readFile(join(modelDir, 'fit.json'), 'utf8')) as FitResult;
    await access(fit.onnxPath);
    const same = fit.preset === preset && fit.requestedIterations === (maxIterations ?? null);
    return same && fit.windows[fit.windows.length - 1]?.end === frameCount ? fit : undefined;
  } catch {
    return undefined;
  }
}
