import { modelSizePersonMask } from '../arr/uncertainty-score';
import { frameToModelInput } from '../correspondence/inputs';
import type { CorrespondenceShape } from '../correspondence/io-spec';
import { InputError } from '../errors';
import type { Backbone, FeatureMap } from '../features/backbone';
import type { FeatureCache } from '../features/feature-cache';
import type { RgbFrame } from '../image/frame';
import { resampleRgb } from '../image/resample';
import type { FaceObservation, LandmarkDetector } from '../landmarks/face-observation';
import type { LandmarkTrack } from '../landmarks/landmark-track';
import type { FrameStore } from '../media/frame-store';
import { scaleLandmarks } from '../job/training-data';

/**
 * Everything the correspondence model needs of one frame, computed once per frame whatever reference it is later
 * compared to — the live counterpart of a frame of an analysed work dir (frames/, landmarks/, features/).
 */
export interface LiveFrame {
  /** Stream index (for a reference loaded from a work dir: its index in the analysed video). */
  readonly index: number;
  /** The frame at working size (what the analysis and the correspondence see). */
  readonly image: RgbFrame;
  /** The frame as it came in, when it is larger than the working size: the edit is rendered at its size. */
  readonly source?: RgbFrame;
  /** `frameToModelInput` of the frame: planar RGB 0..1 at model size. */
  readonly modelImage: Float32Array;
  /** Backbone descriptors `[C, h, w]`. */
  readonly features: Float32Array;
  /** The 478 face landmarks in model pixels, or undefined when no face was found. */
  readonly landmarks?: Float32Array;
  /** Person mask at model size (1 = person): the pixels the uncertainty score counts. */
  readonly personMask: Uint8Array;
}

/**
 * A frame's `LiveFrame` from its landmark observation and features, with the trainer's conventions: landmarks
 * scaled like `landmarksAtSize`, the person mask area-resized from 0..255 confidence and cut at 0.5 like
 * `score_frames` (python/streamedit_trainer/train.py).
 */
export function toLiveFrame(
  index: number,
  image: RgbFrame,
  observation: Pick<FaceObservation, 'face' | 'landmarks' | 'mask'>,
  features: Float32Array,
  shape: CorrespondenceShape,
): LiveFrame {
  const expected = shape.featChannels * shape.featWidth * shape.featHeight;
  if (features.length !== expected) {
    throw new InputError(
      `The backbone gives ${features.length} feature values per frame but the model was trained on ${shape.featChannels}×${shape.featHeight}×${shape.featWidth}: use the backbone the model was fitted with (STREAMEDIT_DINOV2 set or unset as then).`,
    );
  }
  const size = { width: shape.width, height: shape.height };
  const landmarks =
    observation.face && observation.landmarks ? scaleLandmarks(observation.landmarks, image, size) : undefined;
  return {
    index,
    image,
    modelImage: frameToModelInput(image, shape.width, shape.height),
    features,
    landmarks,
    personMask: modelSizePersonMask(observation.mask, image, size),
  };
}

/**
 * Analyses live frames: a frame larger than the working size is downscaled for the analysis only (area averaging,
 * as ffmpeg's `flags=area` does for an analysed video) and kept as the frame's `source`; then landmarks + person
 * mask (the long-lived Chromium page) and backbone features (ONNX) run concurrently — one is another process, the
 * other onnxruntime's threads — then the model-size inputs.
 */
export class LiveAnalyzer {
  constructor(
    private readonly detector: LandmarkDetector,
    private readonly backbone: Backbone,
    readonly shape: CorrespondenceShape,
    /** The working size (the fitted frames'). */
    readonly working: { readonly width: number; readonly height: number },
  ) {}

  async analyze(index: number, input: RgbFrame): Promise<LiveFrame> {
    const image = toWorkingFrame(input, this.working);
    const [observation, features] = await Promise.all([this.detector.detect(image), this.backbone.extract(image)]);
    const frame = toLiveFrame(index, image, observation, checkGrid(features, this.shape), this.shape);
    return image === input ? frame : { ...frame, source: input };
  }
}

/** A live frame at the working size: itself when it has that size, else downscaled by area averaging. */
export function toWorkingFrame(
  frame: RgbFrame,
  working: { readonly width: number; readonly height: number },
): RgbFrame {
  if (frame.width === working.width && frame.height === working.height) return frame;
  return resampleRgb(frame, working.width, working.height);
}

function checkGrid(map: FeatureMap, shape: CorrespondenceShape): Float32Array {
  if (map.channels !== shape.featChannels || map.width !== shape.featWidth || map.height !== shape.featHeight) {
    throw new InputError(
      `The backbone gives ${map.channels}×${map.height}×${map.width} features but the model was trained on ${shape.featChannels}×${shape.featHeight}×${shape.featWidth}: use the backbone the model was fitted with.`,
    );
  }
  return map.data;
}

/**
 * Frame `i` of an analysed work dir as a `LiveFrame` (a reference loaded from disk, a warm-up frame); `source` is the
 * same frame as it came in (a warm-up frame larger than the working size).
 */
export async function cachedLiveFrame(
  i: number,
  work: { readonly frames: FrameStore; readonly track: LandmarkTrack; readonly features: FeatureCache },
  shape: CorrespondenceShape,
  index = i,
  source?: RgbFrame,
): Promise<LiveFrame> {
  const [image, features, mask] = await Promise.all([work.frames.read(i), work.features.read(i), work.track.maskAt(i)]);
  const landmarks = work.track.landmarksAt(i);
  const frame = toLiveFrame(
    index,
    image,
    { face: landmarks !== undefined, landmarks, mask },
    checkGrid(features, shape),
    shape,
  );
  return source && (source.width !== image.width || source.height !== image.height) ? { ...frame, source } : frame;
}
