import type { RgbFrame } from './frame';
import { boxMean, lumaOf } from './lift-flow';
import { backwardWarpPlanar, createFlow, type FlowField } from './warp';

/** Settings of {@link refineFlowLucasKanade}. */
export interface LucasKanadeSettings {
  /** σ in px of the (Gaussian-like) window each pixel's correction is solved over. */
  readonly windowSigma: number;
  /** Gauss–Newton steps; each re-warps the source by the corrected flow. */
  readonly iterations: number;
  /** Added to the structure tensor's diagonal (luma 0..255 squared gradients): no step where nothing is seen. */
  readonly damping: number;
  /** The largest correction one step may make, in px per component. Default 1. */
  readonly maxStep?: number;
  /**
   * Scale (luma 0..255) of the residual's Cauchy weight `1 / (1 + (r / k)²)`: pixels the flow cannot explain
   * (a mouth opening, codec noise) count less. Default 0 = plain least squares.
   */
  readonly robust?: number;
}

/**
 * Windowed Lucas–Kanade refinement of a backward flow (`target(x) ≈ source(x + flow(x))`): each step warps the
 * source's luma by the flow, and corrects every pixel by the least-squares shift that best explains the residual
 * over a window around it — `−(Σ∇I∇Iᵀ + λ)⁻¹ Σ∇I·r` with ∇I the warped source's gradient.
 *
 * Why it exists: a flow smoothed for the edit layer is right in shape but can sit a few tenths of a pixel off as a
 * whole over a face region; the window's photometric evidence (mostly from its textured pixels) pulls it back onto
 * the image. A window of σ ≈ 12 px at 512 is large enough that flat skin inherits its neighbours' correction.
 */
export function refineFlowLucasKanade(
  flow: FlowField,
  source: RgbFrame,
  target: RgbFrame,
  s: LucasKanadeSettings,
): FlowField {
  const { width: w, height: h } = flow;
  if (source.width !== w || source.height !== h || target.width !== w || target.height !== h)
    throw new RangeError('flow, source and target sizes differ');
  const n = w * h;
  const src = lumaOf(source);
  const tgt = lumaOf(target);
  for (let i = 0; i < n; i++) {
    src[i] = 255 * src[i]!;
    tgt[i] = 255 * tgt[i]!;
  }
  // Two passes of a box of radius r have variance 2·((2r+1)² − 1)/12: the r that matches σ.
  const r = Math.max(1, Math.round((Math.sqrt(6 * s.windowSigma * s.windowSigma + 1) - 1) / 2));
  const smooth = (a: Float32Array): Float32Array => boxMean(boxMean(a, w, h, r), w, h, r);
  const maxStep = s.maxStep ?? 1;
  const k2 = s.robust ? s.robust * s.robust : 0;
  const out = createFlow(w, h, new Float32Array(flow.data));
  const f = out.data;
  const xx = new Float32Array(n);
  const yy = new Float32Array(n);
  const xy = new Float32Array(n);
  const xr = new Float32Array(n);
  const yr = new Float32Array(n);
  for (let it = 0; it < s.iterations; it++) {
    const warped = backwardWarpPlanar(src, 1, out);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        const gx = (warped[y * w + Math.min(x + 1, w - 1)]! - warped[y * w + Math.max(x - 1, 0)]!) / 2;
        const gy = (warped[Math.min(y + 1, h - 1) * w + x]! - warped[Math.max(y - 1, 0) * w + x]!) / 2;
        const res = warped[i]! - tgt[i]!;
        const wt = k2 ? 1 / (1 + (res * res) / k2) : 1;
        xx[i] = wt * gx * gx;
        yy[i] = wt * gy * gy;
        xy[i] = wt * gx * gy;
        xr[i] = wt * gx * res;
        yr[i] = wt * gy * res;
      }
    }
    const a = smooth(xx);
    const b = smooth(yy);
    const c = smooth(xy);
    const p = smooth(xr);
    const q = smooth(yr);
    for (let i = 0; i < n; i++) {
      const ai = a[i]! + s.damping;
      const bi = b[i]! + s.damping;
      const ci = c[i]!;
      const det = ai * bi - ci * ci; // ≥ damping² > 0: a·b ≥ c² for window sums
      const du = -(bi * p[i]! - ci * q[i]!) / det;
      const dv = -(ai * q[i]! - ci * p[i]!) / det;
      f[i] = f[i]! + Math.min(Math.max(du, -maxStep), maxStep);
      f[n + i] = f[n + i]! + Math.min(Math.max(dv, -maxStep), maxStep);
    }
  }
  return out;
}
