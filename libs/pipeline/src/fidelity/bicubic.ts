import { createFrame, type RgbFrame } from '../image/frame';
import { bicubicWarpPlanar, type FlowField } from '../image/warp';

/**
 * Bicubic backward warp of an RGB frame by `flow` ({@link bicubicWarpPlanar}: border clamping, unrounded): the
 * ground-truth sampler of the known-motion clips, a better one than the product's bilinear warp so the ceiling is
 * not the reference itself. Returns interleaved RGB floats (0..255, may overshoot slightly; round with {@link toRgb}).
 */
export function bicubicWarp(src: RgbFrame, flow: FlowField): Float32Array {
  const n = src.width * src.height;
  const planar = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) planar[c * n + i] = src.data[3 * i + c]!;
  const moved = bicubicWarpPlanar(planar, 3, flow);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = moved[c * n + i]!;
  return out;
}

/** Rounds and clamps interleaved RGB floats to a frame. */
export function toRgb(width: number, height: number, values: Float32Array): RgbFrame {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round(values[i]!);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return createFrame(width, height, out);
}
