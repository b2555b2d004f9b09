import type { RgbFrame } from './frame';

/** Settings of {@link domainFilter}. */
export interface DomainFilterSettings {
  /** Spatial σ in pixels: how far the filter reaches inside a region of one colour. */
  readonly spatial: number;
  /** Range σ in summed |ΔR| + |ΔG| + |ΔB| (0..255 each): a step this large cuts the reach by about e. */
  readonly range: number;
  /** Horizontal + vertical pass pairs; 3 leaves no visible streaks. Default 3. */
  readonly iterations?: number;
}

/**
 * Edge-aware smoothing of planar float channels `[C, H, W]` guided by an RGB frame of the same size: the domain
 * transform's recursive filter (Gastal & Oliveira, SIGGRAPH 2011). Each 1-D pass is a first-order recursive filter
 * whose feedback shrinks with the guide's colour step, so values spread along a region and stop at its edges —
 * O(1) per pixel whatever σ, four sweeps per iteration.
 */
export function domainFilter(planes: Float32Array, channels: number, guide: RgbFrame, s: DomainFilterSettings): Float32Array {
  const { width: w, height: h } = guide;
  const n = w * h;
  if (planes.length !== channels * n) throw new RangeError(`planes need ${channels}×${h}×${w} values`);
  const out = new Float32Array(planes);
  // dH[i]: domain distance between pixel i and its left neighbour; dV[i]: between i and the pixel above.
  const dH = new Float32Array(n);
  const dV = new Float32Array(n);
  const k = s.spatial / s.range;
  const g = guide.data;
  for (let i = 0; i < n; i++) {
    if (i % w > 0) dH[i] = 1 + k * colourStep(g, i, i - 1);
    if (i >= w) dV[i] = 1 + k * colourStep(g, i, i - w);
  }
  const iterations = s.iterations ?? 3;
  const fH = new Float32Array(n);
  const fV = new Float32Array(n);
  for (let it = 0; it < iterations; it++) {
    // σ of this iteration: the halving sequence whose variances sum to σ² (the paper's eq. 14).
    const sigma = (s.spatial * Math.sqrt(3) * 2 ** (iterations - it - 1)) / Math.sqrt(4 ** iterations - 1);
    const logA = -Math.SQRT2 / sigma;
    for (let i = 0; i < n; i++) {
      fH[i] = Math.exp(dH[i]! * logA);
      fV[i] = Math.exp(dV[i]! * logA);
    }
    for (let c = 0; c < channels; c++) {
      const p = out.subarray(c * n, (c + 1) * n);
      for (let y = 0; y < h; y++) sweep(p, fH, y * w, 1, w);
      for (let x = 0; x < w; x++) sweep(p, fV, x, w, h);
    }
  }
  return out;
}

function colourStep(g: Uint8Array, a: number, b: number): number {
  return Math.abs(g[3 * a]! - g[3 * b]!) + Math.abs(g[3 * a + 1]! - g[3 * b + 1]!) + Math.abs(g[3 * a + 2]! - g[3 * b + 2]!);
}

/** One line of `count` samples from `start` by `stride`, forward then backward; f[i] couples i with i − stride. */
function sweep(p: Float32Array, f: Float32Array, start: number, stride: number, count: number): void {
  const end = start + (count - 1) * stride;
  for (let i = start + stride; i <= end; i += stride) p[i] = p[i]! + f[i]! * (p[i - stride]! - p[i]!);
  for (let i = end - stride; i >= start; i -= stride) p[i] = p[i]! + f[i + stride]! * (p[i + stride]! - p[i]!);
}
