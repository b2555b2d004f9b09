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
export function domainFilter(
  planes: Float32Array,
  channels: number,
  guide: RgbFrame,
  s: DomainFilterSettings,
): Float32Array {
  const { width: w, height: h } = guide;
  const n = w * h;
  if (planes.length !== channels * n) throw new RangeError(`planes need ${channels}×${h}×${w} values`);
  const out = new Float32Array(planes);
  // sH[i]: colour step between pixel i and its left neighbour; sV[i]: between i and the pixel above (0..765).
  const sH = new Uint16Array(n);
  const sV = new Uint16Array(n);
  const g = guide.data;
  for (let y = 0; y < h; y++)
    for (let x = 0, i = y * w; x < w; x++, i++) {
      if (x > 0) sH[i] = colourStep(g, i, i - 1);
      if (y > 0) sV[i] = colourStep(g, i, i - w);
    }
  const iterations = s.iterations ?? 3;
  const k = s.spatial / s.range;
  const lut = new Float32Array(766);
  const fH = new Float32Array(n);
  const fV = new Float32Array(n);
  for (let it = 0; it < iterations; it++) {
    // σ of this iteration: the halving sequence whose variances sum to σ² (the paper's eq. 14); the feedback
    // a^d with the domain distance d = 1 + k·step, tabulated per step.
    const sigma = (s.spatial * Math.sqrt(3) * 2 ** (iterations - it - 1)) / Math.sqrt(4 ** iterations - 1);
    const logA = -Math.SQRT2 / sigma;
    for (let c = 0; c < lut.length; c++) lut[c] = Math.exp((1 + k * c) * logA);
    for (let i = 0; i < n; i++) {
      fH[i] = lut[sH[i]!]!;
      fV[i] = lut[sV[i]!]!;
    }
    for (let c = 0; c < channels; c++) {
      const p = out.subarray(c * n, (c + 1) * n);
      for (let y = 0; y < h; y++) sweepRow(p, fH, y * w, w);
      sweepColumns(p, fV, w, h);
    }
  }
  return out;
}

function colourStep(g: Uint8Array, a: number, b: number): number {
  return (
    Math.abs(g[3 * a]! - g[3 * b]!) + Math.abs(g[3 * a + 1]! - g[3 * b + 1]!) + Math.abs(g[3 * a + 2]! - g[3 * b + 2]!)
  );
}

/** One row, left to right then back; f[i] couples i with i − 1. */
function sweepRow(p: Float32Array, f: Float32Array, start: number, count: number): void {
  const end = start + count - 1;
  for (let i = start + 1; i <= end; i++) p[i] = p[i]! + f[i]! * (p[i - 1]! - p[i]!);
  for (let i = end - 1; i >= start; i--) p[i] = p[i]! + f[i + 1]! * (p[i + 1]! - p[i]!);
}

/** Every column at once, top to bottom then back, row by row (memory order); f[i] couples i with i − w. */
function sweepColumns(p: Float32Array, f: Float32Array, w: number, h: number): void {
  for (let y = 1; y < h; y++) for (let i = y * w, e = i + w; i < e; i++) p[i] = p[i]! + f[i]! * (p[i - w]! - p[i]!);
  for (let y = h - 2; y >= 0; y--)
    for (let i = y * w, e = i + w; i < e; i++) p[i] = p[i]! + f[i + w]! * (p[i + w]! - p[i]!);
}
