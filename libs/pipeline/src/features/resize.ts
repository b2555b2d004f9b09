import type { RgbFrame } from '../image/frame';

/** Per-channel affine normalisation applied after scaling bytes to 0..1: `(v / 255 − mean[c]) / std[c]`. */
export interface ChannelNorm {
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** 0..1, no shift: what XFeat is fed (it converts to gray and instance-normalises inside the graph). */
export const UNIT_RANGE: ChannelNorm = { mean: [0, 0, 0], std: [1, 1, 1] };

/** ImageNet statistics, what DINOv2 (and most torchvision-era backbones) expect. */
export const IMAGENET_NORM: ChannelNorm = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * Bilinear resize of an interleaved RGB frame into a planar float tensor `[3, height, width]` (NCHW without N),
 * normalised by `norm`. Sampling uses pixel centres (`align_corners=False`, like cv2.resize INTER_LINEAR and torch
 * `interpolate(mode='bilinear')`), with edge clamping. No antialiasing: frames reach the backbone at the working
 * resolution (≤ 512 by default), so the downscale is ≤ 2× and a 2×2 bilinear tap still sees every pixel.
 */
export function resizeToPlanar(
  frame: RgbFrame,
  width: number,
  height: number,
  norm: ChannelNorm = UNIT_RANGE,
): Float32Array {
  const { width: sw, height: sh, data: src } = frame;
  const out = new Float32Array(3 * width * height);
  const hw = width * height;
  const scale = [0, 1, 2].map((c) => 1 / (255 * norm.std[c]!));
  const shift = [0, 1, 2].map((c) => norm.mean[c]! / norm.std[c]!);
  const xs = taps(sw, width);
  const ys = taps(sh, height);
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y]! * sw;
    const r1 = ys.i1[y]! * sw;
    const fy = ys.f[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = xs.i0[x]!;
      const c1 = xs.i1[x]!;
      const fx = xs.f[x]!;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      const p00 = (r0 + c0) * 3;
      const p01 = (r0 + c1) * 3;
      const p10 = (r1 + c0) * 3;
      const p11 = (r1 + c1) * 3;
      const o = y * width + x;
      for (let c = 0; c < 3; c++) {
        const v = src[p00 + c]! * w00 + src[p01 + c]! * w01 + src[p10 + c]! * w10 + src[p11 + c]! * w11;
        out[c * hw + o] = v * scale[c]! - shift[c]!;
      }
    }
  }
  return out;
}

/** For each output index along one axis: the two source indices and the weight of the second. */
function taps(srcSize: number, dstSize: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(dstSize);
  const i1 = new Int32Array(dstSize);
  const f = new Float32Array(dstSize);
  const ratio = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    const s = Math.min(Math.max((d + 0.5) * ratio - 0.5, 0), srcSize - 1);
    i0[d] = Math.floor(s);
    i1[d] = Math.min(i0[d]! + 1, srcSize - 1);
    f[d] = s - i0[d]!;
  }
  return { i0, i1, f };
}
