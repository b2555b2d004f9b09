import type { RgbFrame } from '../image/frame';

/** Points of the MediaPipe face mesh (468 mesh points + 10 iris points). */
export const LANDMARK_COUNT = 478;

/** Index of the nose tip in the MediaPipe face mesh. */
export const NOSE_TIP = 1;

/**
 * What the landmark stage sees in one frame. Landmark coordinates are pixels of the frame with pixel centres at
 * integer coordinates (the `FlowField` convention): x = nx·width − 0.5 for MediaPipe's normalised nx.
 */
export interface FaceObservation {
  /** Whether a face was found; when false `landmarks` and `blendshapes` are absent. */
  readonly face: boolean;
  /** 478 × (x, y) interleaved, pixel coordinates (may lie slightly outside the frame for a face at the border). */
  readonly landmarks?: Float32Array;
  /** The 52 ARKit-style blendshape scores (0..1) by name, e.g. `jawOpen`. */
  readonly blendshapes?: Readonly<Record<string, number>>;
  /** Person confidence per pixel, H×W row-major, 0..255 (always present, also without a face). */
  readonly mask: Uint8Array;
}

/** Finds the face landmarks and the person mask of single frames (F_L of the paper's landmark branch). */
export interface LandmarkDetector {
  detect(frame: RgbFrame): Promise<FaceObservation>;
  /** Frees the detector's resources (processes); idempotent. */
  close(): Promise<void>;
}
