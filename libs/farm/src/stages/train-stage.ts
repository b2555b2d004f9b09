import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_ARR,
  DEFAULT_PROPAGATION,
  encodePng,
  fitModel,
  FrameStore,
  ModelCorrespondence,
  sourceFrame,
  windowReferences,
  workLayout,
  type FitResult,
  type ProgressListener,
} from '@streamedit/pipeline';
import { TRAINER_PRESET } from '../jobs/job-record';
import type { StageContext, TrainResult } from '../jobs/stages';
import { downloadFolder } from './artifacts';
import { restoreCheckpoint, storeCheckpoint } from './checkpoints';
import { editKeyframes, loadEditedKeyframes } from './job-edit';

/** What training did (`training.json`): the mux stage puts it in the report. */
export interface TrainingRecord {
  readonly preset: string;
  readonly iterations: number;
  /** The ARR windows, with why each exists (`cause`, `score`). */
  readonly windows: FitResult['windows'];
  /** Windows and mean σ at every check. */
  readonly history: FitResult['history'];
  /** Iteration of the stored checkpoint this attempt started from (a retry after a crash), or null. */
  readonly restoredFrom: number | null;
  /** Iterations the trainer resumed at in this attempt: after each ARR check, and first at `restoredFrom`. */
  readonly resumedAt: readonly number[];
}

/**
 * train: the analysis → the correspondence model (`model.onnx`), a checkpoint at every check (`checkpoints/iter-N/`),
 * `training.json` and the edited reference of every ARR window (`references/{t}.png`); returns the ARR windows.
 * The references are the only sequential part of rendering (window i's is carried over from window i−1's, about a
 * second each), so doing them here lets every render window run at once. The PyTorch trainer is a child process that `ctx.signal` kills. A
 * retried attempt (the worker crashed, was killed, or failed) first restores the newest stored check, so training
 * continues from there — weights, optimizer, RNG and ARR windows — instead of starting over.
 */
export async function trainStage(ctx: StageContext): Promise<TrainResult> {
  const dirs = workLayout(ctx.workDir);
  for (const folder of ['frames', 'landmarks', 'features'] as const) await downloadFolder(ctx, folder, dirs[folder]);
  await mkdir(dirs.model, { recursive: true });
  const restoredFrom = await restoreCheckpoint(ctx, dirs.model);
  if (restoredFrom !== undefined)
    ctx.log.info({ iteration: restoredFrom }, 'resuming training from the stored checkpoint');
  const resumedAt: number[] = [];
  const preset = TRAINER_PRESET[ctx.job.preset];
  const fit = await fitModel(
    ctx.workDir,
    {
      preset,
      keyframes: editKeyframes(ctx.job.edit),
      arr: DEFAULT_ARR,
      signal: ctx.signal,
      onCheck: (state, modelDir) => storeCheckpoint(ctx, modelDir, state.iteration),
      onResume: (iteration) => resumedAt.push(iteration),
    },
    trainProgress(ctx.progress),
  );
  await ctx.store.putFile(ctx.keys.model, fit.onnxPath, { signal: ctx.signal });
  await storeEditedReferences(ctx, fit);
  const record: TrainingRecord = {
    preset,
    iterations: fit.iterations,
    windows: fit.windows,
    history: fit.history,
    restoredFrom: restoredFrom ?? null,
    resumedAt,
  };
  await ctx.store.putBuffer(ctx.keys.training, JSON.stringify(record, null, 2), { contentType: 'application/json' });
  ctx.log.info({ iterations: fit.iterations, windows: fit.windows.length, restoredFrom, resumedAt }, 'model trained');
  return {
    iterations: fit.iterations,
    windows: fit.windows.map(({ reference, start, end }) => ({ reference, start, end })),
  };
}

/**
 * Carries the user's edit to the reference of every ARR window (warp + guided synthesis) and stores each, at the
 * working size and at the source size (the latter read from the uploaded video, one frame per reference).
 */
async function storeEditedReferences(ctx: StageContext, fit: FitResult): Promise<void> {
  const input = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, input);
  const frames = await FrameStore.open(workLayout(ctx.workDir).frames);
  const correspondence = await ModelCorrespondence.open(ctx.workDir, fit.onnxPath);
  try {
    const source = {
      frameAt: (i: number) => frames.read(i),
      edits: await loadEditedKeyframes(ctx, ctx.workDir),
      sourceEdits: await loadEditedKeyframes(ctx, ctx.workDir, 'source'),
      sourceFrameAt: (i: number) => sourceFrame(input, i),
      correspondence,
    };
    const png = { contentType: 'image/png', signal: ctx.signal };
    for await (const reference of windowReferences(source, fit.windows, DEFAULT_PROPAGATION)) {
      ctx.signal.throwIfAborted();
      await ctx.store.putBuffer(ctx.keys.editedReference(reference.index), encodePng(reference.edited), png);
      await ctx.store.putBuffer(ctx.keys.sourceReference(reference.index), encodePng(reference.source!.edited), png);
    }
  } finally {
    await correspondence.close();
    frames.close();
  }
}

/** The trainer's `correspondence` ticks as the stage's progress, with the iterations the job shows. */
function trainProgress(progress: ProgressListener): ProgressListener {
  return (e) => {
    if (e.stage !== 'correspondence' || !e.total) return;
    progress({
      stage: 'train',
      done: e.done,
      total: e.total,
      info: { ...e.info, iteration: e.done, iterations: e.total },
    });
  };
}
