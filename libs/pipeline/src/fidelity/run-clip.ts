import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_ARR, type ReferenceWindow } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { contactSheet } from '../image/heatmap';
import type { FloatImage, RgbFrame } from '../image/frame';
import { writePng } from '../image/png';
import { backwardWarpRgb } from '../image/warp';
import { analyzeVideo, loadAnalysis } from '../job/analyze';
import { fitDirName, fitModel, loadFit } from '../job/fit';
import { LandmarkCorrespondence } from '../job/landmark-correspondence';
import { ModelCorrespondence } from '../job/model-correspondence';
import {
  DEFAULT_PROPAGATION,
  propagateEdit,
  type CorrespondenceSource,
  type PropagatedFrame,
  type PropagationOptions,
} from '../job/propagate';
import { decodeFrames } from '../media/decode';
import { encodeVideo } from '../media/encode';
import { psnr } from '../metrics/psnr';
import { noProgress, type ProgressListener } from '../progress';
import { resampleFloat } from '../image/resample';
import { resizeRgb } from '../image/resize';
import type { ClipSize, ClipTruth, KnownMotionClip } from './clip';

/** The ground truth of a frame, without its flow. */
type FrameTruth = Omit<ClipTruth, 'flow'>;
import { DisFlowSource } from './dis-flow';
import { Auroc, addSigmaCalibration, dotCentroid, meanOf, quantile, regionPsnr } from './metrics';
import { LastPairCache, lockstep } from './sources';

/** The methods compared on a known-motion clip (the ceiling always runs). */
export const FIDELITY_METHODS = ['product', 'raw', 'flow', 'dis', 'landmark'] as const;
/**
 * `product`: fit + propagation as `edit` does (synthesis on); `raw`: the same, the edit carried by the
 * correspondence's own flow (`editFlow: 'off'`, the product before the edit flow); `flow`: the product, synthesis
 * off; `dis`: OpenCV DIS; `landmark`: the landmark warp alone (both carry the edit by their own flow).
 */
export type FidelityMethod = (typeof FIDELITY_METHODS)[number];
export const DEFAULT_FIDELITY_METHODS: readonly FidelityMethod[] = ['product', 'dis', 'landmark'];

/** The scores of one method on one clip (means over frames 1..N−1; frame 0 is the keyframe itself). */
export interface MethodScores {
  readonly method: FidelityMethod | 'ceiling';
  /** PSNR (dB) of the edited region against the ground-truth edit, after the product's encoder. */
  readonly regionPsnr: number;
  /** The same before the encoder (the propagation alone: no chroma subsampling of the dots and text). */
  readonly regionPsnrRaw: number;
  /** Dot drift in px at the scored size (centroid in the output against the true position). */
  readonly driftMedian: number;
  readonly driftP95: number;
  /** Fraction of (dot, frame) pairs whose dot was not found within the search radius (counted at that radius). */
  readonly dotsLost: number;
  /** Reconstruction PSNR (dB, whole frame): frame 0 unedited propagated the same way, against the real frame. */
  readonly reconPsnr: number;
  /**
   * AUROC of the output's σ (each delivered pixel's, as the σ video shows it) for the edited-region pixels whose
   * edit error > 10/255 (and the disoccluded ones); absent without σ.
   */
  readonly sigmaAuroc?: number;
  /** The same for the correspondence's σ alone (the model's photometric σ, which never sees the edit). */
  readonly corrSigmaAuroc?: number;
  /** References the method used. */
  readonly references: number;
  readonly wallMs: number;
}

export interface FidelityClipResult {
  readonly clip: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** The size the outputs were scored at (the source's by default: what a user gets back). */
  readonly scoredWidth: number;
  readonly scoredHeight: number;
  readonly mouthOpening: boolean;
  /** Maximum head rotation (degrees), scale change and translation (clip px) of the known motion. */
  readonly motion: { readonly rotationDeg: number; readonly scale: number; readonly translation: number };
  /** Mean fraction of pixels in the edited region, and inside the opened mouth. */
  readonly editedFraction: number;
  readonly disoccludedFraction: number;
  readonly methods: readonly MethodScores[];
  readonly sheet?: string;
}

/** Options of one clip (defaults in brackets). */
export interface FidelityClipOptions {
  /** Work dir of this clip: its video, analysis, fits and outputs; a rerun reuses the video, analysis and fit. */
  readonly workDir: string;
  readonly methods?: readonly FidelityMethod[];
  readonly preset?: CorrespondencePreset;
  /** Training iterations [1000]. */
  readonly iterations?: number;
  /** Contact sheet PNG [none]. */
  readonly sheet?: string;
  /**
   * Where the outputs are scored [`source`]: at the source size the product renders as `edit` does (working-size
   * correspondence lifted to the source, the full-size keyframe warped) and DIS runs at the source size; at
   * `working`, every method and the ground truth stay at the working size. The same for a clip whose source is
   * its working size.
   */
  readonly scoreAt?: ClipSize;
}

/** The clip's frames as decoded: at working size (what the methods see) and at the scored size. */
interface DecodedFrames {
  readonly work: readonly RgbFrame[];
  readonly scored: readonly RgbFrame[];
  readonly at: ClipSize;
}

/** One frame a method produced: the edit, its σ (when it has one), and the reconstruction. */
interface MethodFrame {
  readonly index: number;
  readonly image: RgbFrame;
  readonly sigma?: FloatImage;
  /** The correspondence's σ (when the method has one). */
  readonly corrSigma?: FloatImage;
  readonly recon: RgbFrame;
}

interface MethodRun {
  readonly frames: AsyncGenerator<MethodFrame>;
  readonly references: number;
  close(): Promise<void>;
}

/**
 * The edit-fidelity benchmark on one known-motion clip: writes the clip (H.264, CRF 20) into the work dir when it is
 * not there, builds the ground truth, runs the ceiling (the keyframe warped by the true motion with the product's
 * warp) and each method, passes every output through the product's encoder and scores it.
 */
export async function benchmarkFidelityClip(
  clip: KnownMotionClip,
  o: FidelityClipOptions,
  onProgress: ProgressListener = noProgress,
): Promise<FidelityClipResult> {
  await mkdir(o.workDir, { recursive: true });
  const video = join(o.workDir, 'clip.mp4');
  const n = clip.spec.frames;
  if (!(await exists(video))) {
    onProgress({ stage: `generate ${clip.spec.name}`, done: 0, total: n });
    await clip.write(video);
  }
  const at = o.scoreAt ?? 'source';
  const view = clip.view(at);
  const real = await decodeAll(video, clip);
  const decoded: DecodedFrames = { work: real, scored: view === clip ? real : await decodeAll(video, view), at };
  // The flows are dropped (2 floats a pixel a frame); the ceiling recomputes its own.
  const truths: FrameTruth[] = [];
  for (let t = 0; t < n; t++) {
    const { edit, region, valid } = clip.truth(t, at);
    truths.push({ edit, region, valid });
  }
  const picks = [Math.floor(n / 3), Math.floor((2 * n) / 3), n - 1];
  // The contact sheet stays at working size whatever the scored size (a 4K sheet helps nobody).
  const small = (f: RgbFrame): RgbFrame => resizeRgb(f, clip.width, clip.height);
  const sheetRows: RgbFrame[][] = [picks.map((t) => real[t]!), picks.map((t) => small(truths[t]!.edit))];
  const results: MethodScores[] = [];
  const methods = o.methods ?? DEFAULT_FIDELITY_METHODS;
  const needsAnalysis = methods.some((m) => m !== 'dis');
  if (needsAnalysis && !(await loadAnalysis(o.workDir, video, n)))
    await analyzeVideo(video, o.workDir, { maxFrames: n, maxSide: Math.max(clip.width, clip.height) }, onProgress);
  const runs: Array<[MethodScores['method'], () => Promise<MethodRun>]> = [
    ['ceiling', async () => ceilingRun(clip, decoded)],
    ...methods.map((m): [FidelityMethod, () => Promise<MethodRun>] => [
      m,
      () => startMethod(m, { clip, frames: decoded, options: o }, onProgress),
    ]),
  ];
  for (const [method, start] of runs) {
    const t0 = Date.now();
    const run = await start();
    const auroc = new Auroc();
    const corrAuroc = new Auroc();
    const recon: number[] = [];
    const raw: number[] = [];
    let hasSigma = false;
    const out = join(o.workDir, `out-${method}.mp4`);
    async function* scored(): AsyncGenerator<RgbFrame> {
      for await (const f of run.frames) {
        if (f.index > 0) {
          recon.push(psnr(f.recon, decoded.scored[f.index]!));
          raw.push(regionPsnr(f.image, truths[f.index]!.edit, truths[f.index]!.region) ?? Number.NaN);
          const frame = { output: f.image, truth: truths[f.index]!.edit, ...truths[f.index]! };
          if (f.sigma) {
            hasSigma = true;
            addSigmaCalibration(auroc, { ...frame, sigma: f.sigma });
          }
          if (f.corrSigma) addSigmaCalibration(corrAuroc, { ...frame, sigma: f.corrSigma });
        }
        onProgress({ stage: `${clip.spec.name} ${method}`, done: f.index + 1, total: n });
        yield f.image;
      }
    }
    try {
      await encodeVideo(scored(), { out, fps: { num: 25, den: 1 }, total: n });
    } finally {
      await run.close();
    }
    const scores = await scoreOutput({ clip, at, out, truths, picks });
    sheetRows.push(scores.sheet.map(small));
    results.push({
      method,
      regionPsnr: scores.regionPsnr,
      regionPsnrRaw: meanOf(raw),
      driftMedian: scores.driftMedian,
      driftP95: scores.driftP95,
      dotsLost: scores.dotsLost,
      reconPsnr: meanOf(recon),
      sigmaAuroc: hasSigma ? auroc.value() : undefined,
      corrSigmaAuroc: hasSigma ? corrAuroc.value() : undefined,
      references: run.references,
      wallMs: Date.now() - t0,
    });
  }
  if (o.sheet) await mkdir(dirname(o.sheet), { recursive: true });
  if (o.sheet) await writePng(o.sheet, contactSheet(sheetRows, clip.width, clip.height));
  const m = clip.motion;
  let maxRot = 0;
  let maxScale = 0;
  let maxT = 0;
  let edited = 0;
  let disoccluded = 0;
  for (let t = 0; t < n; t++) {
    const p = m.headPose(t);
    maxRot = Math.max(maxRot, Math.abs(p.rotationDeg));
    maxScale = Math.max(maxScale, Math.abs(p.scale - 1));
    maxT = Math.max(maxT, Math.hypot(p.tx, p.ty));
    const tr = truths[t]!;
    for (let i = 0; i < tr.region.length; i++) {
      edited += tr.region[i]!;
      disoccluded += tr.valid[i] === 2 ? 1 : 0;
    }
  }
  const px = n * clip.width * clip.height;
  return {
    clip: clip.spec.name,
    frames: n,
    width: clip.width,
    height: clip.height,
    sourceWidth: clip.spec.still.width,
    sourceHeight: clip.spec.still.height,
    scoredWidth: view.width,
    scoredHeight: view.height,
    mouthOpening: clip.spec.mouthOpening ?? false,
    motion: { rotationDeg: maxRot, scale: maxScale, translation: maxT },
    editedFraction: edited / px,
    disoccludedFraction: disoccluded / px,
    methods: results,
    sheet: o.sheet,
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Every frame of the clip's video at a view's size. */
async function decodeAll(video: string, size: { width: number; height: number }): Promise<RgbFrame[]> {
  const frames: RgbFrame[] = [];
  for await (const f of decodeFrames(video, { maxSide: Math.max(size.width, size.height) })) frames.push(f);
  if (frames[0]!.width !== size.width || frames[0]!.height !== size.height)
    throw new RangeError(`decoded ${frames[0]!.width}×${frames[0]!.height}, expected ${size.width}×${size.height}`);
  return frames;
}

/**
 * The ceiling: the keyframe (and frame 0 for the reconstruction) warped by the TRUE flow with the product's warp,
 * at the scored size.
 */
function ceilingRun(clip: KnownMotionClip, decoded: DecodedFrames): MethodRun {
  const { keyframe, width, height } = clip.view(decoded.at);
  const real0 = decoded.scored[0]!;
  async function* frames(): AsyncGenerator<MethodFrame> {
    for (let t = 0; t < clip.spec.frames; t++) {
      const { flow } = clip.motion.flowAt(t, width, height);
      yield {
        index: t,
        image: t === 0 ? keyframe : backwardWarpRgb(keyframe, flow),
        recon: t === 0 ? real0 : backwardWarpRgb(real0, flow),
      };
    }
  }
  return { frames: frames(), references: 1, close: async () => {} };
}

/** What a method runs on: the clip, its decoded frames and the clip's options. */
interface MethodContext {
  readonly clip: KnownMotionClip;
  readonly frames: DecodedFrames;
  readonly options: FidelityClipOptions;
}

/**
 * Starts a method: its correspondence (fitting the product's model when the work dir has no fit) and its two
 * streams, both at the scored size. DIS runs at the scored size itself (at the source size: the full-size frames,
 * its best case); the product, its variants and the landmark warp run at working size and, when the scored size is
 * the source's, render there as `edit` does (flow lifted, the full-size keyframe warped).
 */
async function startMethod(
  method: FidelityMethod,
  ctx: MethodContext,
  onProgress: ProgressListener,
): Promise<MethodRun> {
  const { clip, frames: decoded, options: o } = ctx;
  const n = clip.spec.frames;
  const view = clip.view(decoded.at);
  let source: CorrespondenceSource & { close(): Promise<void> };
  let windows: readonly ReferenceWindow[] = [{ reference: 0, start: 0, end: n, cause: 'first' }];
  // The baselines carry the edit by their own flow: the edit flow is the product's, not theirs.
  let options: PropagationOptions = { ...DEFAULT_PROPAGATION, synthesis: 'off', editFlow: 'off' };
  if (method === 'dis')
    source = new DisFlowSource(join(o.workDir, 'clip.mp4'), { width: view.width, height: view.height, frames: n });
  else if (method === 'landmark') source = await LandmarkCorrespondence.open(o.workDir);
  else {
    // As `edit` does: keyframe 0 forces a reference, ARR may add more; the fit is kept in the work dir for reruns.
    const modelDir = fitDirName(true, false);
    const preset = o.preset ?? 'cpu';
    const iterations = o.iterations ?? 1000;
    const fit =
      (await loadFit(join(o.workDir, modelDir), n, preset, iterations)) ??
      (await fitModel(
        o.workDir,
        { preset, maxIterations: iterations, keyframes: [0], arr: DEFAULT_ARR, modelDir },
        onProgress,
      ));
    await writeFile(join(o.workDir, 'fit-windows.json'), JSON.stringify(fit.windows));
    source = await ModelCorrespondence.open(o.workDir, fit.onnxPath);
    windows = fit.windows;
    if (method === 'product') options = DEFAULT_PROPAGATION;
    else if (method === 'raw') options = { ...DEFAULT_PROPAGATION, editFlow: 'off' };
    else options = { ...DEFAULT_PROPAGATION, synthesis: 'off' };
  }
  // DIS and the landmark warp give σ = 0 everywhere: no calibration to report.
  const hasSigma = method === 'product' || method === 'raw' || method === 'flow';
  const shared = new LastPairCache(source);
  const lifted = method !== 'dis' && view !== clip;
  // The frames the method itself sees: DIS the scored ones, the others the working-size ones.
  const seen = method === 'dis' ? decoded.scored : decoded.work;
  /** Frame 0 carried as `edit` would: given as seen, and at the scored size when the render is lifted there. */
  const carry = (frame0: RgbFrame, frame0Scored: RgbFrame, opts: PropagationOptions): AsyncGenerator<PropagatedFrame> =>
    propagateEdit(
      {
        frameAt: async (i: number): Promise<RgbFrame> => seen[i]!,
        windows,
        correspondence: shared,
        edits: new Map([[0, frame0]]),
        ...(lifted && {
          sourceFrameAt: async (i: number): Promise<RgbFrame> => decoded.scored[i]!,
          sourceEdits: new Map([[0, frame0Scored]]),
        }),
      },
      opts,
    );
  const edit = carry(method === 'dis' ? view.keyframe : clip.keyframe, view.keyframe, options);
  const recon = carry(seen[0]!, decoded.scored[0]!, { ...options, editRegion: 'full' });
  // The output's σ comes at the output's size; the correspondence's stays at working size and is upsampled to be
  // scored against the full-size error.
  const scoredSigma = (s: FloatImage | undefined): FloatImage | undefined =>
    s && lifted ? resampleFloat({ ...s, channels: 1 }, view.width, view.height) : s;
  async function* frames(): AsyncGenerator<MethodFrame> {
    for await (const [e, r] of lockstep(edit, recon))
      yield {
        index: e.index,
        image: e.image,
        sigma: e.isReference || !hasSigma ? undefined : scoredSigma(e.outputSigma),
        corrSigma: e.isReference || !hasSigma ? undefined : scoredSigma(e.sigma),
        recon: r.image,
      };
  }
  return { frames: frames(), references: windows.length, close: () => source.close() };
}

/** What {@link scoreOutput} scores: an encoded output of `clip` at size `at`, against `truths` at that size. */
interface ScoreRequest {
  readonly clip: KnownMotionClip;
  readonly at: ClipSize;
  readonly out: string;
  readonly truths: readonly FrameTruth[];
  /** The frames kept for the contact sheet. */
  readonly picks: readonly number[];
}

/** Scores an encoded output: region PSNR and dot drift per frame (1..N−1), and the contact sheet's frames. */
async function scoreOutput({ clip, at, out, truths, picks }: ScoreRequest): Promise<{
  regionPsnr: number;
  driftMedian: number;
  driftP95: number;
  dotsLost: number;
  sheet: RgbFrame[];
}> {
  const view = clip.view(at);
  const region: number[] = [];
  const drift: number[] = [];
  let lost = 0;
  const sheet: RgbFrame[] = [];
  let t = 0;
  for await (const f of decodeFrames(out, { maxSide: Math.max(view.width, view.height) })) {
    if (picks.includes(t)) sheet.push(f);
    if (t > 0) {
      region.push(regionPsnr(f, truths[t]!.edit, truths[t]!.region) ?? Number.NaN);
      view.dots.forEach((d, k) => {
        const p = clip.dotAt(t, k, at);
        if (!p || truths[t]!.valid[Math.round(p.y) * view.width + Math.round(p.x)] !== 1) return;
        const search = 3 * d.radius + 12;
        const c = dotCentroid(f, d.colour, p, search);
        if (!c) lost++;
        drift.push(c ? Math.hypot(c.x - p.x, c.y - p.y) : search);
      });
    }
    t++;
  }
  return {
    regionPsnr: meanOf(region),
    driftMedian: quantile(drift, 0.5),
    driftP95: quantile(drift, 0.95),
    dotsLost: drift.length ? lost / drift.length : Number.NaN,
    sheet,
  };
}
