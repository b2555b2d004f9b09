import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ARR, referenceBudget, type ArrOptions, type ReferenceWindow } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { FrameStore } from '../media/frame-store';
import { psnr } from '../metrics/psnr';
import { ssim } from '../metrics/ssim';
import { noProgress, type ProgressListener } from '../progress';
import { analyzeVideo, loadAnalysis, type Analysis } from './analyze';
import { fitDirName, fitModel, loadFit } from './fit';
import { LandmarkCorrespondence } from './landmark-correspondence';
import { ModelCorrespondence } from './model-correspondence';
import { OnlineArr } from '../arr/online-arr';
import { propagateOnline, type OnlineFrame, type OnlineInput } from '../propagation/online-propagation';
import {
  DEFAULT_PROPAGATION,
  propagateEdit,
  propagateWindow,
  windowReferences,
  type CorrespondenceSource,
  type EditedReference,
  type PropagatedFrame,
  type PropagationInput,
  type PropagationOptions,
  type SynthesisMode,
} from './propagate';

/** Options of the reconstruction protocol (../shared/data/README.md); defaults in brackets. */
export interface ReconstructOptions {
  /** First N frames [300]. */
  readonly frames?: number;
  readonly preset?: CorrespondencePreset;
  readonly maxIterations?: number;
  readonly checkEvery?: number;
  /** ARR [on, budget 2 per 100 frames]; `false` = one reference (frame 0). */
  readonly arr?: ArrOptions | false;
  /** Per-frame synthesis of uncertain pixels [`uncertain`]. */
  readonly synthesis?: SynthesisMode;
  /** Also run the streaming split: fit on the first 60 %, report the last 40 % apart [true]. */
  readonly streamingSplit?: boolean;
  /** `landmark`: propagate with the landmark warp alone (the "without PPCE" ablation) [`model`]. */
  readonly method?: 'model' | 'landmark';
  readonly workDir?: string;
  /** Reuse an analysis and a fit already in `workDir` (same video, frames and split) instead of redoing them [false]. */
  readonly reuse?: boolean;
}

/** Mean metrics over the frames that are not references. */
export interface ReconstructionScores {
  readonly frames: number;
  readonly psnr: number;
  readonly ssim: number;
  /** SSIM in % as the protocol reports it. */
  readonly ssimPercent: number;
}

export interface ReconstructionResult {
  readonly video: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly method: 'model' | 'landmark';
  readonly synthesis: SynthesisMode;
  readonly references: number;
  readonly referenceBudget: number;
  readonly windows: readonly ReferenceWindow[];
  readonly iterations: number;
  /** The trainer's speed during the fit (iterations/s; NaN for the landmark method). */
  readonly trainIterPerSecond: number;
  readonly all: ReconstructionScores;
  readonly perFrame: ReadonlyArray<{
    readonly index: number;
    readonly psnr: number;
    readonly ssim: number;
    readonly reference: boolean;
    readonly synthesisMs: number;
    readonly synthesized: number;
  }>;
  /** Mean guided-synthesis wall time per propagated frame, and the mean fraction of pixels synthesised. */
  readonly synthesisMsPerFrame: number;
  readonly synthesizedFraction: number;
  /**
   * Fitted on the first 60 % only, the rest streamed (edited frame by frame with online ARR, as a live session does):
   * scores of the fitted frames, of the last 40 % (unseen in training), and of those same frames in the main run
   * (whose model was fitted on every frame).
   */
  readonly streaming?: {
    readonly trainFrames: number;
    readonly fitted: ReconstructionScores;
    readonly unseen: ReconstructionScores;
    readonly unseenFullyFitted: ReconstructionScores;
    readonly references: number;
    readonly windows: readonly ReferenceWindow[];
  };
  readonly timingsMs: Readonly<Record<string, number>>;
}

/**
 * The reconstruction protocol: the unedited reference is propagated to every frame as an edit would be (for later
 * windows the reference itself comes from the previous one, warped and inpainted) and compared with the real frame.
 */
export async function reconstructVideo(
  video: string,
  options: ReconstructOptions = {},
  onProgress: ProgressListener = noProgress,
): Promise<ReconstructionResult> {
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'streamedit-rec-')));
  const method = options.method ?? 'model';
  const synthesis = options.synthesis ?? DEFAULT_PROPAGATION.synthesis;
  const arr = options.arr === false ? undefined : (options.arr ?? DEFAULT_ARR);
  try {
    const t0 = Date.now();
    const frames = options.frames ?? 300;
    const analysis =
      (options.reuse ? await loadAnalysis(workDir, video, frames) : undefined) ??
      (await analyzeVideo(video, workDir, { maxFrames: frames }, onProgress));
    const t1 = Date.now();
    const main = await fitAndScore(workDir, analysis, { ...options, method, synthesis, arr }, undefined, onProgress);
    const t2 = Date.now();
    let streaming: ReconstructionResult['streaming'];
    if ((options.streamingSplit ?? true) && method === 'model') {
      const trainFrames = Math.round(0.6 * analysis.count);
      const split = await fitAndScore(
        workDir,
        analysis,
        { ...options, method, synthesis, arr },
        trainFrames,
        onProgress,
      );
      const fitted = split.perFrame.filter((f) => f.index < trainFrames && !f.reference);
      const unseen = split.perFrame.filter((f) => f.index >= trainFrames && !f.reference);
      // The same frames as `unseen`, propagated by the model fitted on every frame: what not seeing them costs.
      const unseenIndices = new Set(unseen.map((f) => f.index));
      const sameFrames = main.perFrame.filter((f) => unseenIndices.has(f.index) && !f.reference);
      streaming = {
        trainFrames,
        fitted: summarize(fitted),
        unseen: summarize(unseen),
        unseenFullyFitted: summarize(sameFrames),
        references: split.windows.length,
        windows: split.windows,
      };
    }
    const scored = main.perFrame.filter((f) => !f.reference);
    return {
      video,
      frames: analysis.count,
      width: analysis.width,
      height: analysis.height,
      method,
      synthesis,
      references: main.windows.length,
      referenceBudget: referenceBudget(analysis.count, arr?.budgetPer100 ?? 2),
      windows: main.windows,
      iterations: main.iterations,
      trainIterPerSecond: main.iterPerSecond,
      all: summarize(scored),
      perFrame: main.perFrame,
      synthesisMsPerFrame: scored.reduce((a, f) => a + f.synthesisMs, 0) / Math.max(1, scored.length),
      synthesizedFraction: scored.reduce((a, f) => a + f.synthesized, 0) / Math.max(1, scored.length),
      streaming,
      timingsMs: {
        ...analysis.timingsMs,
        fit: main.fitMs,
        render: main.renderMs,
        streamingSplit: Date.now() - t2,
        total: Date.now() - t0,
        analyze: t1 - t0,
      },
    };
  } finally {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

interface Scored {
  readonly windows: readonly ReferenceWindow[];
  readonly iterations: number;
  readonly iterPerSecond: number;
  readonly perFrame: {
    index: number;
    psnr: number;
    ssim: number;
    reference: boolean;
    synthesisMs: number;
    synthesized: number;
  }[];
  readonly fitMs: number;
  readonly renderMs: number;
}

async function fitAndScore(
  workDir: string,
  analysis: Analysis,
  o: ReconstructOptions & { method: 'model' | 'landmark'; synthesis: SynthesisMode; arr?: ArrOptions },
  trainFrames: number | undefined,
  onProgress: ProgressListener,
): Promise<Scored> {
  const t0 = Date.now();
  const frames = await FrameStore.open(join(workDir, 'frames'));
  let source: CorrespondenceSource & { close(): Promise<void> };
  let model: ModelCorrespondence | undefined;
  let windows: readonly ReferenceWindow[];
  let iterations = 0;
  let iterPerSecond = Number.NaN;
  if (o.method === 'landmark') {
    source = await LandmarkCorrespondence.open(workDir);
    windows = [{ reference: 0, start: 0, end: analysis.count, cause: 'first' }];
  } else {
    // One folder per kind of fit, so a benchmark can reuse each (`reuse`).
    const modelDir = fitDirName(o.arr !== undefined, trainFrames !== undefined);
    const reused = o.reuse
      ? await loadFit(join(workDir, modelDir), analysis.count, o.preset ?? 'cpu', o.maxIterations)
      : undefined;
    const fit =
      reused ??
      (await fitModel(
        workDir,
        {
          preset: o.preset ?? 'cpu',
          maxIterations: o.maxIterations,
          checkEvery: o.checkEvery,
          keyframes: [0],
          arr: o.arr,
          trainFrames,
          modelDir,
        },
        onProgress,
      ));
    model = await ModelCorrespondence.open(workDir, fit.onnxPath);
    source = model;
    windows = fit.windows;
    iterations = fit.iterations;
    iterPerSecond = fit.iterPerSecond;
  }
  const t1 = Date.now();
  const perFrame: Scored['perFrame'] = [];
  const streamedReferences: ReferenceWindow[] = [];
  try {
    const reference = await frames.read(windows[0]!.reference);
    const input = {
      frameAt: (i: number) => frames.read(i),
      windows,
      edits: new Map([[windows[0]!.reference, reference]]),
      correspondence: source,
    };
    const options: PropagationOptions = { ...DEFAULT_PROPAGATION, synthesis: o.synthesis, editRegion: 'full' };
    const m = model;
    const stream =
      trainFrames === undefined || !m
        ? propagateEdit(input, options)
        : streamingSplit(
            { ...input, scored: (ref, cur, tau) => m.scored(ref, cur, tau) },
            trainFrames,
            analysis.count,
            new OnlineArr(o.arr ?? NO_ARR, onlineBudget(o.arr, windows, analysis.count)),
            options,
          );
    for await (const f of stream) {
      const real = await frames.read(f.index);
      const online = f as Partial<OnlineFrame>;
      if (online.cause)
        streamedReferences.push({
          reference: f.index,
          start: f.index,
          end: f.index,
          cause: online.cause,
          score: online.score,
        });
      perFrame.push({
        index: f.index,
        psnr: psnr(f.image, real),
        ssim: ssim(f.image, real),
        reference: f.isReference,
        synthesisMs: f.synthesisMs,
        synthesized: f.synthesized,
      });
      onProgress({ stage: 'render', done: perFrame.length, total: analysis.count });
    }
  } finally {
    await source.close();
    frames.close();
  }
  const all = trainFrames === undefined ? windows : closeWindows([...windows, ...streamedReferences], analysis.count);
  return { windows: all, iterations, iterPerSecond, perFrame, fitMs: t1 - t0, renderMs: Date.now() - t1 };
}

/** Never replaces (the split of a single-reference fit streams without ARR too). */
const NO_ARR: ArrOptions = {
  threshold: Number.POSITIVE_INFINITY,
  maxWindow: Number.POSITIVE_INFINITY,
  budgetPer100: 0,
  persistence: 1,
};

/** References online ARR may still add: the per-video budget less the fitted windows (none without ARR). */
function onlineBudget(arr: ArrOptions | undefined, windows: readonly ReferenceWindow[], frameCount: number): number {
  return arr ? Math.max(0, referenceBudget(frameCount, arr.budgetPer100) - windows.length) : 0;
}

/**
 * The streaming split's frames: the fitted windows over the first `trainFrames` frames, then the unseen rest edited
 * as a live session would (`propagateOnline`: frame by frame from the last fitted reference, online ARR).
 */
async function* streamingSplit(
  input: PropagationInput & OnlineInput,
  trainFrames: number,
  frameCount: number,
  arr: OnlineArr,
  options: PropagationOptions,
): AsyncGenerator<PropagatedFrame | OnlineFrame> {
  let last: EditedReference | undefined;
  let wi = 0;
  for await (const ref of windowReferences(input, input.windows, options)) {
    const w = input.windows[wi]!;
    yield* propagateWindow(input, { start: w.start, end: Math.min(w.end, trainFrames) }, wi, ref, options);
    last = ref;
    wi++;
  }
  yield* propagateOnline(input, last!, { start: trainFrames, end: frameCount }, arr, options, wi - 1);
}

/** Windows with each one's end set to the next one's start (streamed references are found one at a time). */
function closeWindows(windows: readonly ReferenceWindow[], frameCount: number): ReferenceWindow[] {
  return windows.map((w, i) => ({ ...w, end: windows[i + 1]?.start ?? frameCount }));
}

function summarize(frames: ReadonlyArray<{ psnr: number; ssim: number }>): ReconstructionScores {
  const n = Math.max(1, frames.length);
  const p = frames.reduce((s, f) => s + f.psnr, 0) / n;
  const s = frames.reduce((a, f) => a + f.ssim, 0) / n;
  return { frames: frames.length, psnr: p, ssim: s, ssimPercent: 100 * s };
}
