import { createFrame, type RgbFrame } from '../image/frame';

/**
 * Joins a synthesised region to its surroundings without a visible seam: a feathered blend whose weight follows
 * the exact Euclidean distance to the mask's boundary. The weight of `synthesized` is
 * `clamp(0.5 + s / feather, 0, 1)` with s the signed distance to the boundary (positive inside the mask), so the
 * transition is a band `feather` pixels wide centred on the boundary; deep inside it is `synthesized`, far
 * outside `base`. `feather` 0 is a hard switch (exactly `synthesized` inside, `base` outside).
 *
 * @param base the frame around the region (e.g. the flow-warped edit).
 * @param synthesized the frame whose masked pixels replace `base` (e.g. `synthesizeGuided(...).image`).
 * @param mask H×W, nonzero = take `synthesized`.
 * @param feather width of the transition band in pixels. Default 4.
 */
export function blendSeams(base: RgbFrame, synthesized: RgbFrame, mask: Uint8Array, feather = 4): RgbFrame {
  const { width: w, height: h } = base;
  if (synthesized.width !== w || synthesized.height !== h)
    throw new RangeError(`synthesized is ${synthesized.width}×${synthesized.height}, base is ${w}×${h}`);
  if (mask.length !== w * h) throw new RangeError(`mask has ${mask.length} values, needs ${w * h}`);
  if (!(feather >= 0)) throw new RangeError(`feather must be ≥ 0, got ${feather}`);
  const alpha = seamWeights(mask, w, h, feather);
  const out = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const a = alpha[i]!;
    for (let c = 0; c < 3; c++) {
      const k = 3 * i + c;
      out[k] = Math.round(base.data[k]! + a * (synthesized.data[k]! - base.data[k]!));
    }
  }
  return createFrame(w, h, out);
}

/** Per-pixel weight of the synthesised side (see `blendSeams`). */
export function seamWeights(mask: Uint8Array, w: number, h: number, feather: number): Float32Array {
  const alpha = new Float32Array(w * h);
  if (feather === 0) {
    for (let i = 0; i < w * h; i++) alpha[i] = mask[i] ? 1 : 0;
    return alpha;
  }
  const toOutside = distanceTransform(mask, w, h, false); // inside pixels: distance to the nearest outside pixel
  const toInside = distanceTransform(mask, w, h, true);
  for (let i = 0; i < w * h; i++) {
    // Distances are between pixel centres; the boundary lies half a pixel from the nearest opposite pixel.
    const s = mask[i] ? toOutside[i]! - 0.5 : 0.5 - toInside[i]!;
    alpha[i] = Math.min(1, Math.max(0, 0.5 + s / feather));
  }
  return alpha;
}

/**
 * Exact Euclidean distance from every pixel to the nearest pixel whose mask value is `set` (Felzenszwalb &
 * Huttenlocher's separable lower-envelope transform, O(W·H)). Infinity when no such pixel exists.
 */
export function distanceTransform(mask: Uint8Array, w: number, h: number, set: boolean): Float32Array {
  const big = 1e20;
  const f = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) f[i] = !!mask[i] === set ? 0 : big;
  const n = Math.max(w, h);
  const line = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) line[y] = f[y * w + x]!;
    edt1d(line, h, d, v, z);
    for (let y = 0; y < h; y++) f[y * w + x] = d[y]!;
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) line[x] = f[y * w + x]!;
    edt1d(line, w, d, v, z);
    for (let x = 0; x < w; x++) out[y * w + x] = d[x]! >= big ? Infinity : Math.sqrt(d[x]!);
  }
  return out;
}

/** 1-D squared distance transform of sampled function `f` (lower envelope of parabolas). */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    while (s <= z[k]!) {
      k--;
      s = (f[q]! + q * q - (f[v[k]!]! + v[k]! * v[k]!)) / (2 * q - 2 * v[k]!);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const dq = q - v[k]!;
    d[q] = dq * dq + f[v[k]!]!;
  }
}
