import { CorrespondenceModel } from '../correspondence/model';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import type { Backbone } from '../features/backbone';
import { createBackbone } from '../features/create-backbone';
import type { RgbFrame } from '../image/frame';
import { resampleFloat, resampleRgb } from '../image/resample';
import { ChromiumLandmarkDetector } from '../landmarks/chromium-detector';
import type { LandmarkDetector } from '../landmarks/face-observation';
import { ModelStore } from '../models/model-store';
import { noProgress } from '../progress';
import { settings } from '../settings';
import { editWeights, type EditedReference, type PropagationOptions } from '../job/propagate';
import type { NearestNeighbourField } from '../synthesis/types';
import { liveReference, type LiveReference } from './live-correspondence';
import { cachedLiveFrame, LiveAnalyzer, type LiveFrame } from './live-frame';
import { openAnalysis, readWindowEdit, type FittedEdit, type StartReference, type WindowEdit } from './live-source';
import type { LiveSessionOptions, WarmUpOptions } from './live-types';
import { warmUpFit } from './warmup';

// Building a live session's engine: the resources it holds (landmark browser, backbone), the model and the
// reference frames are propagated from — at once from a fitted work dir, or by fitting on a warm-up's frames.

/** The reference frames are propagated from, with its per-window state. */
export interface CurrentReference {
  readonly live: LiveReference;
  readonly edited: EditedReference;
  readonly weights: Float32Array;
  /** {@link editWeights} at the source size, when `edited.source` is set. */
  readonly sourceWeights?: Float32Array;
  /** Where it is in the stream; null for a frame of the fitted video. */
  readonly streamIndex: number | null;
  /** Stream frame its window starts at (for the maximum window length). */
  readonly since: number;
  prevNnf?: NearestNeighbourField;
}

/** What editing needs once the model is known. */
export interface Engine {
  readonly model: CorrespondenceModel;
  readonly analyzer: LiveAnalyzer;
  /** The working size (the analysis and the correspondence). */
  readonly width: number;
  readonly height: number;
  /** User keyframes by stream index (force a reference with the user's edit). */
  readonly keyframes: ReadonlyMap<number, WindowEdit>;
  current: CurrentReference;
}

/** How a session gets its engine: at once (a work dir), or from the first frames (a warm-up). */
export type EngineSource =
  | {
      readonly kind: 'fitted';
      readonly fitted: FittedEdit;
      readonly start: StartReference;
      readonly model: CorrespondenceModel;
      readonly keyframes: ReadonlyMap<number, WindowEdit>;
      readonly startIndex: number | null;
    }
  | { readonly kind: 'warm-up'; readonly options: WarmUpOptions; readonly workDir: string };

/** The landmark detector and backbone every engine of a session analyses frames with. */
export interface EngineResources {
  readonly detector: LandmarkDetector;
  readonly backbone: Backbone;
}

/**
 * The model's threads unless given: `STREAMEDIT_ORT_THREADS`, but 1 for the 64² `tiny` model. On 2 cores the cpu
 * model (512²) edits 4.3 frames/s with 2 threads against 3.3 with 1; the tiny one 15.6 with 1 against 13.3 with 2,
 * the pool's overhead outweighing its share of a 13 ms forward.
 */
export function liveModelThreads(preset: CorrespondencePreset, options: LiveSessionOptions): number {
  return options.modelThreads ?? (preset === 'tiny' ? 1 : settings().ortThreads);
}

/** The landmark detector (started now) and the backbone of a session. */
export async function openResources(
  options: LiveSessionOptions,
): Promise<{ detector: LandmarkDetector; ownsDetector: boolean; backbone: Backbone; release(): Promise<void> }> {
  const store = options.store ?? new ModelStore();
  const ownsDetector = options.detector === undefined;
  const detector = options.detector ?? new ChromiumLandmarkDetector({ modelStore: store });
  try {
    if (detector instanceof ChromiumLandmarkDetector) await detector.warmUp();
    // One thread: a frame's features run beside the model's forward, and a multi-threaded ONNX Runtime pool spins
    // on the cores the model needs (cpu model at 512², 2 cores: 306 vs 351 ms per frame end to end).
    const backbone = await createBackbone(store, { threads: 1 });
    return {
      detector,
      ownsDetector,
      backbone,
      release: async () => {
        await backbone.release();
        if (ownsDetector) await detector.close();
      },
    };
  } catch (err) {
    if (ownsDetector) await detector.close();
    throw err;
  }
}

/** The user's keyframe edits of a fitted work dir by frame index (windows whose cause is `keyframe`). */
export async function userKeyframes(fitted: FittedEdit): Promise<Map<number, WindowEdit>> {
  const out = new Map<number, WindowEdit>();
  for (const [i, w] of fitted.windows.entries())
    if (w.cause === 'keyframe') out.set(w.reference, await readWindowEdit(fitted, i));
  return out;
}

/**
 * A frame and its edit as the reference, its window starting at stream frame `since`; with the edit at the source
 * size (`editedFull`, larger than the working size) the reference carries it, for frames rendered at that size. The
 * source-size edit region is found on the full-size pair when the frame came in at that size; a reference read from
 * a work dir (which keeps its frames at the working size only) has its working-size region upsampled instead, and
 * its upsampled frame stands in for the full-size original (only the edit region is derived from it).
 */
export function referenceFrom(
  model: CorrespondenceModel,
  frame: LiveFrame,
  edit: WindowEdit,
  streamIndex: number | null,
  since: number,
  editRegion: PropagationOptions['editRegion'],
): CurrentReference {
  const { edited } = edit;
  const weights = editWeights(frame.image, edited, editRegion);
  const full = edit.editedFull;
  const atSource = full && (full.width !== frame.image.width || full.height !== frame.image.height);
  const original = atSource ? (frame.source ?? resampleRgb(frame.image, full.width, full.height)) : undefined;
  const sourceWeights = !atSource
    ? undefined
    : frame.source
      ? editWeights(frame.source, full, editRegion)
      : upsampleWeights(weights, frame.image, full);
  return {
    live: liveReference(frame, model),
    edited: {
      index: streamIndex ?? -1,
      original: frame.image,
      edited,
      source: atSource ? { original: original!, edited: full } : undefined,
    },
    weights,
    sourceWeights,
    streamIndex,
    since,
  };
}

/** Per-pixel weights of a `from`-sized frame resampled to the size of `to`. */
function upsampleWeights(
  weights: Float32Array,
  from: { width: number; height: number },
  to: { width: number; height: number },
): Float32Array {
  return resampleFloat({ width: from.width, height: from.height, channels: 1, data: weights }, to.width, to.height)
    .data;
}

/** The engine of a fitted work dir (its model already loaded). */
export function fittedEngine(
  source: Extract<EngineSource, { kind: 'fitted' }>,
  resources: EngineResources,
  propagation: PropagationOptions,
): Engine {
  const { model, start } = source;
  const { startIndex } = source;
  const working = { width: source.fitted.width, height: source.fitted.height };
  return {
    model,
    analyzer: new LiveAnalyzer(resources.detector, resources.backbone, model.shape, working),
    ...working,
    keyframes: source.keyframes,
    current: referenceFrom(model, start.frame, start, startIndex, startIndex ?? 0, propagation.editRegion),
  };
}

/** A warm-up's fitted engine, with the fit's iterations and the warm-up frames' analysis (the caller closes it). */
export interface WarmUpEngine {
  readonly engine: Engine;
  readonly iterations: number;
  readonly analysis: Awaited<ReturnType<typeof openAnalysis>>;
}

/**
 * Fits on the buffered warm-up frames (as they came in: the source size) and builds the engine from the fit. The model is handed to `keepModel` as
 * soon as it is loaded, so that a session closed (or failing) after that point still releases it.
 */
export async function fitWarmUpEngine(
  source: Extract<EngineSource, { kind: 'warm-up' }>,
  frames: readonly RgbFrame[],
  resources: EngineResources,
  propagation: PropagationOptions,
  signal: AbortSignal,
  keepModel: (model: CorrespondenceModel) => void,
): Promise<WarmUpEngine> {
  const { options, workDir } = source;
  const warm = await warmUpFit(
    {
      frames,
      edit: options.edit,
      preset: options.preset ?? 'tiny',
      maxIterations: options.maxIterations,
      workDir,
      detector: resources.detector,
      backbone: resources.backbone,
      fps: options.fps,
      maxSide: options.maxSide,
      tau: propagation.tau,
      signal,
    },
    options.onProgress ?? noProgress,
  );
  const model = await CorrespondenceModel.load(
    warm.fitted.onnxPath,
    liveModelThreads(warm.fitted.preset, options),
    true,
  );
  keepModel(model);
  const analysis = await openAnalysis(workDir);
  try {
    const first = warm.fitted.windows[0]!.reference;
    const startFrame = await cachedLiveFrame(first, analysis, model.shape, first, frames[first]);
    const working = { width: warm.fitted.width, height: warm.fitted.height };
    const analyzer = new LiveAnalyzer(resources.detector, resources.backbone, model.shape, working);
    const edit = warm.keyframes.get(first)!;
    const engine: Engine = {
      model,
      analyzer,
      ...working,
      keyframes: warm.keyframes,
      current: referenceFrom(model, startFrame, edit, first, first, propagation.editRegion),
    };
    return { engine, iterations: warm.iterations, analysis };
  } catch (err) {
    await analysis.close();
    throw err;
  }
}
