import type { FlowField } from '../image/warp';
import type { NearestNeighbourField } from './types';

/** The field that maps every target pixel onto the same source pixel (no motion). */
export function identityNnf(width: number, height: number): NearestNeighbourField {
  const data = new Int32Array(2 * width * height);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 2) {
      data[i] = x;
      data[i + 1] = y;
    }
  }
  return { width, height, data };
}

/**
 * The field of a backward flow (target pixel (x, y) samples the source at (x + u, y + v), as `backwardWarpRgb`):
 * the source pixel is (x + u, y + v) rounded and clamped into the image.
 */
export function nnfFromFlow(flow: FlowField): NearestNeighbourField {
  const { width: w, height: h, data: f } = flow;
  const hw = w * h;
  const data = new Int32Array(2 * hw);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      data[2 * i] = clamp(Math.round(x + f[i]!), w - 1);
      data[2 * i + 1] = clamp(Math.round(y + f[hw + i]!), h - 1);
    }
  }
  return { width: w, height: h, data };
}

/**
 * Carries a field to the next frame: `flowToPrevious` maps frame t's pixels into frame t − 1 (backward flow), and
 * `previous` maps frame t − 1 into the source, so the result maps frame t into the source (temporal coherence).
 */
export function composeNnf(previous: NearestNeighbourField, flowToPrevious: FlowField): NearestNeighbourField {
  const { width: w, height: h } = previous;
  if (flowToPrevious.width !== w || flowToPrevious.height !== h) throw new RangeError('field and flow sizes differ');
  const step = nnfFromFlow(flowToPrevious).data;
  const data = new Int32Array(2 * w * h);
  for (let i = 0; i < w * h; i++) {
    const j = step[2 * i + 1]! * w + step[2 * i]!;
    data[2 * i] = previous.data[2 * j]!;
    data[2 * i + 1] = previous.data[2 * j + 1]!;
  }
  return { width: w, height: h, data };
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

/** Packs a public field into the kernel's `(y << 16) | x` form at pyramid level `level` (subsampled, halved coordinates). */
export function packNnfAtLevel(field: NearestNeighbourField, level: number, width: number, height: number): Int32Array {
  const out = new Int32Array(width * height);
  const half = (1 << level) >> 1; // sample each coarse pixel's block at its centre
  for (let y = 0, i = 0; y < height; y++) {
    const fy = Math.min((y << level) + half, field.height - 1);
    for (let x = 0; x < width; x++, i++) {
      const fx = Math.min((x << level) + half, field.width - 1);
      const j = 2 * (fy * field.width + fx);
      const sx = clamp(field.data[j]! >> level, width - 1);
      const sy = clamp(field.data[j + 1]! >> level, height - 1);
      out[i] = (sy << 16) | sx;
    }
  }
  return out;
}

/** Identity in packed form. */
export function packedIdentity(width: number, height: number): Int32Array {
  const out = new Int32Array(width * height);
  for (let y = 0, i = 0; y < height; y++) for (let x = 0; x < width; x++, i++) out[i] = (y << 16) | x;
  return out;
}

/** Upsamples a packed field to the next finer level: each child keeps its parent's match plus its own offset. */
export function upsamplePacked(
  coarse: Int32Array,
  cw: number,
  ch: number,
  into: Int32Array,
  w: number,
  h: number,
): void {
  for (let y = 0, i = 0; y < h; y++) {
    const py = Math.min(y >> 1, ch - 1);
    for (let x = 0; x < w; x++, i++) {
      const v = coarse[py * cw + Math.min(x >> 1, cw - 1)]!;
      const sx = Math.min(2 * (v & 0xffff) + (x & 1), w - 1);
      const sy = Math.min(2 * (v >>> 16) + (y & 1), h - 1);
      into[i] = (sy << 16) | sx;
    }
  }
}

/** Unpacks the kernel's field into the public form. */
export function unpackNnf(packed: Int32Array, width: number, height: number): NearestNeighbourField {
  const data = new Int32Array(2 * width * height);
  for (let i = 0; i < width * height; i++) {
    const v = packed[i]!;
    data[2 * i] = v & 0xffff;
    data[2 * i + 1] = v >>> 16;
  }
  return { width, height, data };
}
