import { DEFAULT_ARR, type ArrOptions, type ReferenceWindow } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { resolveEdit, validateEditSpec, type EditSpec } from '../edit/edit-spec';
import { InputError } from '../errors';
import type { Backbone } from '../features/backbone';
import { writeFeatureCache } from '../features/feature-cache';
import type { RgbFrame } from '../image/frame';
import type { LandmarkDetector } from '../landmarks/face-observation';
import { analyzeLandmarks } from '../landmarks/landmark-track';
import type { Fps } from '../media/ffmpeg-commands';
import { FrameStore } from '../media/frame-store';
import { noProgress, type ProgressListener } from '../progress';
import { writeEditedReference } from '../job/edit-video';
import { fitModel } from '../job/fit';
import { ModelCorrespondence } from '../job/model-correspondence';
import { DEFAULT_PROPAGATION, windowReferences, type ReferenceInput } from '../job/propagate';
import { workLayout } from '../job/work-dir';
import { workingSize } from '../media/video-info';
import { toWorkingFrame } from './live-frame';
import type { FittedEdit, WindowEdit } from './live-source';

/** The first frames of a stream and what to do with them. */
export interface WarmUpRequest {
  /** The buffered frames as they came in (the source size, all the same size). */
  readonly frames: readonly RgbFrame[];
  /** Longer side of the working size the frames are analysed and fitted at [`settings().maxSide`]. */
  readonly maxSide?: number;
  /** The edit; its keyframe indices are indices of `frames`. */
  readonly edit: EditSpec;
  readonly preset: CorrespondencePreset;
  readonly maxIterations?: number;
  /** ARR during the fit. Default `DEFAULT_ARR`. */
  readonly arr?: ArrOptions;
  /** Where the analysis and the model go (an existing, empty folder). */
  readonly workDir: string;
  /** Reused for the analysis (the session keeps them for the live frames). */
  readonly detector: LandmarkDetector;
  readonly backbone: Backbone;
  /** Frame rate recorded with the frames. Default 25. */
  readonly fps?: Fps;
  /** σ threshold for carrying the edit to later fitted windows. Default `DEFAULT_PROPAGATION.tau`. */
  readonly tau?: number;
  readonly signal?: AbortSignal;
}

/** A fitted warm-up: the fit as a work dir, and the user's edited keyframes by frame index. */
export interface WarmedUp {
  readonly fitted: FittedEdit;
  readonly keyframes: ReadonlyMap<number, WindowEdit>;
  readonly iterations: number;
}

/** Checks an edit against a warm-up of `frames` frames before any frame arrives (indices in range, a known look). */
export function checkWarmUpEdit(edit: EditSpec, frames: number): void {
  validateEditSpec(edit, { frameCount: frames, width: 1, height: 1, sourceWidth: 1, sourceHeight: 1 });
}

/**
 * The warm-up of a live session (mode (b)): the buffered frames, downscaled to the working size, become an analysed
 * work dir (frame store, landmarks + person masks, backbone features: the files `analyzeVideo` writes), the edit is
 * applied to its keyframe(s) at the frames' own (source) size and carried to the working size as offline, and the
 * correspondence model is fitted with ARR — the offline pipeline, on the first N frames. Every fitted window's
 * edited reference is written too (`edits/ref-<window>.png`, and `ref-<window>-source.png` at the source size), so
 * the folder is a finished edit's work dir that a later session can start from (`LiveEditSession.fromWorkDir`).
 */
export async function warmUpFit(request: WarmUpRequest, onProgress: ProgressListener = noProgress): Promise<WarmedUp> {
  const { frames: images, workDir } = request;
  if (images.length < 2)
    throw new InputError(`The warm-up needs at least 2 frames, the stream gave ${images.length}: send more frames.`);
  const source = { width: images[0]!.width, height: images[0]!.height };
  const { width, height } = workingSize({ ...source, rotation: 0 }, request.maxSide);
  const atSource = width !== source.width || height !== source.height;
  const fps = request.fps ?? { num: 25, den: 1 };
  const dirs = workLayout(workDir);
  const writer = await FrameStore.create(dirs.frames, width, height, fps);
  for (const image of images) await writer.append(toWorkingFrame(image, { width, height }));
  await writer.finish();
  const frames = await FrameStore.open(dirs.frames);
  try {
    const track = await analyzeLandmarks(frames, request.detector, dirs.landmarks, onProgress, { total: frames.count });
    if (track.facesFound === 0)
      throw new InputError('No face was found in the warm-up frames: StreamEdit edits portrait video; stream a face.');
    request.signal?.throwIfAborted();
    await writeFeatureCache(dirs.features, frames, request.backbone, onProgress, frames.count);
    const geometry = {
      frameCount: frames.count,
      width,
      height,
      sourceWidth: source.width,
      sourceHeight: source.height,
    };
    const sourceAt = async (i: number) => images[i]!;
    const edits = await resolveEdit(request.edit, geometry, {
      working: (i) => frames.read(i),
      source: atSource ? sourceAt : undefined,
    });
    const fit = await fitModel(
      workDir,
      {
        preset: request.preset,
        maxIterations: request.maxIterations,
        keyframes: edits.map((e) => e.at),
        arr: request.arr ?? DEFAULT_ARR,
        signal: request.signal,
      },
      onProgress,
    );
    const keyframes = new Map(edits.map((e) => [e.at, { edited: e.edited, editedFull: e.source?.edited }]));
    const input = {
      frameAt: (i: number) => frames.read(i),
      edits: new Map(edits.map((e) => [e.at, e.edited])),
      sourceFrameAt: atSource ? sourceAt : undefined,
      sourceEdits: atSource ? new Map(edits.map((e) => [e.at, e.source!.edited])) : undefined,
    };
    await writeWindowReferences(workDir, fit.onnxPath, fit.windows, input, request.tau ?? DEFAULT_PROPAGATION.tau);
    return {
      fitted: {
        workDir,
        onnxPath: fit.onnxPath,
        windows: fit.windows,
        preset: fit.preset,
        width,
        height,
        source: atSource ? source : undefined,
        fps,
      },
      keyframes,
      iterations: fit.iterations,
    };
  } finally {
    frames.close();
  }
}

/**
 * Each window's edited reference (the user's edit, or carried over from the previous window as offline), at the
 * source size too when `input` has source frames.
 */
async function writeWindowReferences(
  workDir: string,
  onnxPath: string,
  windows: readonly ReferenceWindow[],
  input: Omit<ReferenceInput, 'correspondence'>,
  tau: number,
): Promise<void> {
  const correspondence = await ModelCorrespondence.open(workDir, onnxPath);
  try {
    let i = 0;
    for await (const reference of windowReferences({ ...input, correspondence }, windows, { tau }))
      await writeEditedReference(workDir, i++, reference);
  } finally {
    await correspondence.close();
  }
}
