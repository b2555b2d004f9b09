import { uncertainFraction } from '../arr/uncertainty-score';
import { toWorkingSize } from '../correspondence/inputs';
import type { CorrespondenceModel } from '../correspondence/model';
import { faceShapeOf } from '../landmarks/face-shape';
import { LandmarkWarp } from '../landmarks/landmark-warp';
import type { Correspondence } from '../job/propagate';
import type { LiveFrame } from './live-frame';

/** A live reference: its frame's model inputs and, when it shows a face, its landmark warp (built once). */
export interface LiveReference {
  readonly frame: LiveFrame;
  readonly warp?: LandmarkWarp;
}

/** The model's answer for (reference, current) at working size, and the current frame's uncertainty score. */
export interface LiveCorrespondence {
  readonly correspondence: Correspondence;
  /** Fraction of the current frame's person pixels whose σ (at model size) is above τ: the ARR statistic. */
  readonly score: number;
}

/** Makes `frame` a reference: the landmark warp F_Lwarp from its face mesh, at model size. */
export function liveReference(frame: LiveFrame, model: CorrespondenceModel): LiveReference {
  const { width, height } = model.shape;
  return { frame, warp: frame.landmarks ? LandmarkWarp.fromReference(frame.landmarks, width, height) : undefined };
}

/**
 * Runs the correspondence model on one live pair, exactly as `ModelCorrespondence.between` does on an analysed
 * video (same inputs: model-size images, backbone features, the landmark-warp init flow, zeros without a face),
 * and scores the frame the way the trainer scores frames for ARR (`score_frames`).
 */
export async function liveCorrespondence(
  model: CorrespondenceModel,
  ref: LiveReference,
  cur: LiveFrame,
  tau: number,
): Promise<LiveCorrespondence> {
  const { width, height } = model.shape;
  const initFlow =
    ref.warp && cur.landmarks ? ref.warp.field(cur.landmarks).flow.data : new Float32Array(2 * width * height);
  const p = await model.predict({
    refImage: ref.frame.modelImage,
    curImage: cur.modelImage,
    refFeat: ref.frame.features,
    curFeat: cur.features,
    initFlow,
  });
  const score = uncertainFraction(p.sigma, cur.personMask, tau);
  const face = faceShapeOf(cur.landmarks, { x: cur.image.width / width, y: cur.image.height / height });
  return { correspondence: { ...toWorkingSize(p.flow, p.sigma, cur.image.width, cur.image.height), face }, score };
}
