import { modelSizePersonMask } from '../arr/uncertainty-score';
import { frameToModelInput } from '../correspondence/inputs';
import type { CorrespondenceShape } from '../correspondence/io-spec';
import { InputError } from '../errors';
import type { Backbone, FeatureMap } from '../features/backbone';
import type { FeatureCache } from '../features/feature-cache';
import type { RgbFrame } from '../image/frame';
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
  /** The frame at working size. */
  readonly image: RgbFrame;
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
 * Analyses live frames: landmarks + person mask (the long-lived Chromium page) and backbone features (ONNX) run
 * concurrently — one is another process, the other onnxruntime's threads — then the model-size inputs.
 */
export class LiveAnalyzer {
  constructor(
    private readonly detector: LandmarkDetector,
    private readonly backbone: Backbone,
    readonly shape: CorrespondenceShape,
  ) {}

  async analyze(index: number, image: RgbFrame): Promise<LiveFrame> {
    const [observation, features] = await Promise.all([this.detector.detect(image), this.backbone.extract(image)]);
    return toLiveFrame(index, image, observation, checkGrid(features, this.shape), this.shape);
  }
}

function checkGrid(map: FeatureMap, shape: CorrespondenceShape): Float32Array {
  if (map.channels !== shape.featChannels || map.width !== shape.featWidth || map.height !== shape.featHeight) {
    throw new InputError(
      `The backbone gives ${map.channels}×${map.height}×${map.width} features but the model was trained on ${shape.featChannels}×${shape.featHeight}×${shape.featWidth}: use the backbone the model was fitted with.`,
    );
  }
  return map.data;
}

/** Frame `i` of an analysed work dir as a `LiveFrame` (a reference loaded from disk, a warm-up frame). */
export async function cachedLiveFrame(
  i: number,
  work: { readonly frames: FrameStore; readonly track: LandmarkTrack; readonly features: FeatureCache },
  shape: CorrespondenceShape,
  index = i,
): Promise<LiveFrame> {
  const [image, features, mask] = await Promise.all([work.frames.read(i), work.features.read(i), work.track.maskAt(i)]);
  const landmarks = work.track.landmarksAt(i);
  return toLiveFrame(
    index,
    image,
    { face: landmarks !== undefined, landmarks, mask },
    checkGrid(features, shape),
    shape,
  );
}
