import type { RgbFrame } from '../image/frame';

/**
 * Dense features of one frame, planar `[C, h, w]` row-major: `data[c * h * w + y * w + x]`. These are the F_ref,
 * F_curr (and, warped, F_warp) of the paper's eq. (1); `width`/`height` are the feature grid, not the frame.
 */
export interface FeatureMap {
  readonly channels: number;
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/** A frozen pretrained network that turns a frame into a `FeatureMap`; the grid size is fixed per backbone. */
export interface Backbone {
  /** Model name, recorded in feature caches (e.g. `xfeat_256x256`, `dinov2`). */
  readonly name: string;
  /** sha256 of the model file, recorded in feature caches so a cache built by other weights is never reused. */
  readonly modelSha256: string;
  /** Feature channels C. */
  readonly channels: number;
  /** Grid of a frame of `width`×`height` (some backbones adapt to the aspect, XFeat does not). */
  gridSize(width: number, height: number): { readonly width: number; readonly height: number };
  /** Features of a frame of any size. */
  extract(frame: RgbFrame): Promise<FeatureMap>;
  /** Frees the inference session. */
  release(): Promise<void>;
}

export function createFeatureMap(
  channels: number,
  width: number,
  height: number,
  data = new Float32Array(channels * width * height),
): FeatureMap {
  if (data.length !== channels * width * height)
    throw new RangeError(
      `feature map ${channels}×${height}×${width} needs ${channels * width * height} floats, got ${data.length}`,
    );
  return { channels, width, height, data };
}

/**
 * Scales each location's C-vector to unit length in place, so the dot product of two locations is their cosine
 * similarity (what matching and the correspondence model compare). A zero vector stays zero.
 */
export function l2NormalizeLocations(map: FeatureMap): FeatureMap {
  const { channels, width, height, data } = map;
  const hw = width * height;
  for (let i = 0; i < hw; i++) {
    let sum = 0;
    for (let c = 0, o = i; c < channels; c++, o += hw) sum += data[o]! * data[o]!;
    if (sum === 0) continue;
    const inv = 1 / Math.sqrt(sum);
    for (let c = 0, o = i; c < channels; c++, o += hw) data[o]! *= inv;
  }
  return map;
}

/** Cosine similarity of location (x0, y0) of `a` and (x1, y1) of `b` (same channel count). */
export function cosineAt(a: FeatureMap, x0: number, y0: number, b: FeatureMap, x1: number, y1: number): number {
  if (a.channels !== b.channels) throw new RangeError('feature maps have different channel counts');
  const ha = a.width * a.height;
  const hb = b.width * b.height;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let c = 0, i = y0 * a.width + x0, j = y1 * b.width + x1; c < a.channels; c++, i += ha, j += hb) {
    dot += a.data[i]! * b.data[j]!;
    na += a.data[i]! * a.data[i]!;
    nb += b.data[j]! * b.data[j]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
