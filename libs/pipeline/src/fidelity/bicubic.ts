import { createFrame, type RgbFrame } from '../image/frame';
import type { FlowField } from '../image/warp';

/** Keys' cubic convolution kernel (a = −0.5, Catmull-Rom): exact at integer positions, so a zero flow is the identity. */
function keys(d: number): number {
  const x = Math.abs(d);
  if (x < 1) return 1.5 * x * x * x - 2.5 * x * x + 1;
  if (x < 2) return -0.5 * x * x * x + 2.5 * x * x - 4 * x + 2;
  return 0;
}

/**
 * Bicubic backward warp of an RGB frame by `flow` (the `FlowField` convention, border clamping), unrounded: the
 * ground-truth sampler of the known-motion clips, a better one than the product's bilinear warp so the ceiling is
 * not the reference itself. Returns interleaved RGB floats (0..255, may overshoot slightly; round with {@link toRgb}).
 */
export function bicubicWarp(src: RgbFrame, flow: FlowField): Float32Array {
  const { width: w, height: h, data } = flow;
  if (src.width !== w || src.height !== h) throw new RangeError('flow and frame sizes differ');
  const hw = w * h;
  const s = src.data;
  const out = new Float32Array(hw * 3);
  const wx = [0, 0, 0, 0];
  const wy = [0, 0, 0, 0];
  const xs = [0, 0, 0, 0];
  const ys = [0, 0, 0, 0];
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const sx = Math.min(Math.max(x + data[i]!, 0), w - 1);
      const sy = Math.min(Math.max(y + data[hw + i]!, 0), h - 1);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let k = 0; k < 4; k++) {
        wx[k] = keys(fx - (k - 1));
        wy[k] = keys(fy - (k - 1));
        xs[k] = Math.min(Math.max(x0 + k - 1, 0), w - 1);
        ys[k] = Math.min(Math.max(y0 + k - 1, 0), h - 1);
      }
      let r = 0;
      let g = 0;
      let b = 0;
      for (let ky = 0; ky < 4; ky++) {
        const row = ys[ky]! * w;
        for (let kx = 0; kx < 4; kx++) {
          const wt = wy[ky]! * wx[kx]!;
          if (wt === 0) continue;
          const p = (row + xs[kx]!) * 3;
          r += wt * s[p]!;
          g += wt * s[p + 1]!;
          b += wt * s[p + 2]!;
        }
      }
      out[3 * i] = r;
      out[3 * i + 1] = g;
      out[3 * i + 2] = b;
    }
  }
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
