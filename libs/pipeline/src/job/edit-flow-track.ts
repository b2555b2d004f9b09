import type { RgbFrame } from '../image/frame';
import { boxMean, lumaOf } from '../image/lift-flow';
import { backwardWarpPlanar, createFlow, type FlowField } from '../image/warp';

/** Settings of {@link EditFlowTrack} (defaults in brackets). */
export interface TemporalEditFlowSettings {
  /**
   * Frames on each side of the current one [8]. Chosen on the known-motion clips after the Lucas–Kanade refinement
   * (km-katiehill edit PSNR: 4 → 23.56, 8 → 23.73, 10 → 23.66, 14 → 23.11 dB; km-may 4 → 23.13, 8 → 23.25): a
   * longer fit averages more of the per-frame wobble away, until the quadratic no longer follows the head. Longer
   * also means more frames held ahead (offline only), each with its source-size frame when delivering at that size.
   */
  readonly radius: number;
  /**
   * Where the temporal estimate moves a pixel further than this from the frame's own edit flow, keep the latter (px
   * at working size) [3]. A guard against motion the quadratic cannot follow; at 1 px it mostly threw good
   * corrections away where a frame's own flow was off (known-motion clips, mean edit PSNR: 1 → 22.49, 2 → 22.57,
   * 3 → 22.59 dB; km-d9 20.78 → 21.16 → 21.32).
   */
  readonly maxChangePx: number;
  /**
   * Where the temporal estimate explains the frame clearly worse than the frame's own edit flow, keep the latter
   * ({@link keepOwnWhereWorse}; window radius in px at a 512-px longer side) [2 px, ratio 1.5, floor 16], or `off`.
   * Real talking heads move faster than the generator's clips (speech, blinks): without it the look oracle on
   * may_theresa lost 0.77 dB to the trajectory fit (24.91 → 24.14, below DIS), with it 24.87, while the
   * known-motion clips keep the fit's gain (docs/benchmarks.md, 2026-12-06).
   */
  readonly photometricGuard: PhotometricGuard | 'off';
}

/** See {@link keepOwnWhereWorse}. */
export interface PhotometricGuard {
  /** Box radius of the residual's window, px at a 512-px longer side. */
  readonly radiusPx: number;
  /** How many times the frame's own windowed residual the temporal one may reach. */
  readonly ratio: number;
  /** Plus this (luma 0..255, squared): noise-level differences never count. */
  readonly floor: number;
}

export const DEFAULT_TEMPORAL_EDIT_FLOW: TemporalEditFlowSettings = {
  radius: 8,
  maxChangePx: 3,
  photometricGuard: { radiusPx: 2, ratio: 1.5, floor: 16 },
};

/**
 * Inverts a displacement field by fixed-point iteration: the returned d satisfies d(p) = −f(p + d(p)), so a
 * backward flow (target → reference) becomes the forward displacement of each reference pixel, and back.
 * Converges where the field's gradient is below 1 (smooth motion); occlusions are left to the caller's check.
 */
export function invertFlow(f: FlowField, iterations = 8): FlowField {
  let d = createFlow(f.width, f.height);
  for (let k = 0; k < iterations; k++) {
    const s = backwardWarpPlanar(f.data, 2, d);
    for (let i = 0; i < s.length; i++) s[i] = -s[i]!;
    d = createFlow(f.width, f.height, s);
  }
  return d;
}

/**
 * Weights β_j over the sample times `times` of a polynomial fit evaluated at `t` (Gaussian-weighted least squares,
 * degree 2 when both sides have two samples, else 1, else 0): value(t) = Σ β_j · sample_j.
 */
export function trajectoryWeights(times: readonly number[], t: number, radius: number): number[] {
  const before = times.filter((s) => s < t).length;
  const after = times.filter((s) => s > t).length;
  const degree = Math.min(before, after) >= 2 ? 2 : times.length >= 2 ? 1 : 0;
  const m = degree + 1;
  const sigma = Math.max(radius / 1.5, 0.5);
  const g = times.map((s) => Math.exp(-0.5 * ((s - t) / sigma) ** 2));
  const A: number[][] = Array.from({ length: m }, () => new Array<number>(m).fill(0));
  for (const [j, s] of times.entries())
    for (let a = 0; a < m; a++) for (let b = 0; b < m; b++) A[a]![b]! += g[j]! * (s - t) ** (a + b);
  // value(t) = coefficient 0 = e0ᵀ A⁻¹ Xᵀ G y: solve A z = e0, then β_j = g_j Σ_a z_a (s_j − t)^a.
  const z = solveSymmetric(
    A,
    Array.from({ length: m }, (_, a) => (a === 0 ? 1 : 0)),
  );
  return times.map((s, j) => g[j]! * z.reduce((acc, za, a) => acc + za * (s - t) ** a, 0));
}

function solveSymmetric(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/**
 * The edit flows of one window smoothed along time: each reference pixel's trajectory (its forward displacement in
 * frames t − r … t + r, the reference itself at 0) is fitted by a low-degree polynomial and read at t. Per-frame
 * flows wobble by a few tenths of a pixel with the codec and the noise; a painted edit shows that as shimmer and
 * skew, real motion does not (a head moves smoothly at video frame rates). Offline only: it needs r frames ahead.
 *
 * Frames are given in increasing order with {@link add}; {@link at} answers once `t + radius` (or the window's
 * end) was added.
 */
export class EditFlowTrack {
  private readonly forward = new Map<number, FlowField>();
  private readonly own = new Map<number, FlowField>();
  /** The reference's luma, for the photometric guard (one reference a window: computed once). */
  private refLuma?: Float32Array;

  constructor(
    private readonly reference: number,
    private readonly window: { readonly start: number; readonly end: number },
    private readonly settings: TemporalEditFlowSettings = DEFAULT_TEMPORAL_EDIT_FLOW,
  ) {}

  /** The frames that must be added before {@link at}(t) can answer. */
  needs(t: number): number {
    return Math.min(t + this.settings.radius, this.window.end - 1);
  }

  /** Frame t's own edit flow (target → reference). */
  add(t: number, layer: FlowField): void {
    this.own.set(t, layer);
    this.forward.set(t, invertFlow(layer));
  }

  /**
   * The smoothed edit flow of frame t; frees what later frames no longer need. With `images` (the reference's
   * original and frame t), pixels where the smoothed flow explains frame t clearly worse than the frame's own keep
   * the frame's own ({@link keepOwnWhereWorse}).
   */
  at(t: number, images?: { readonly reference: RgbFrame; readonly current: RgbFrame }): FlowField {
    const own = this.own.get(t);
    if (!own) throw new RangeError(`frame ${t} was not added`);
    const r = this.settings.radius;
    const times: number[] = [];
    for (let s = Math.max(this.window.start, t - r); s <= Math.min(this.window.end - 1, t + r); s++)
      if (s === this.reference || this.forward.has(s)) times.push(s);
    const beta = trajectoryWeights(times, t, r);
    const n = own.width * own.height;
    const sum = new Float32Array(2 * n);
    for (const [j, s] of times.entries()) {
      if (s === this.reference) continue; // the reference's displacement is 0
      const d = this.forward.get(s)!.data;
      for (let i = 0; i < 2 * n; i++) sum[i] = sum[i]! + beta[j]! * d[i]!;
    }
    const smoothed = invertFlow(createFlow(own.width, own.height, sum));
    const max2 = this.settings.maxChangePx ** 2;
    for (let i = 0; i < n; i++) {
      const du = smoothed.data[i]! - own.data[i]!;
      const dv = smoothed.data[n + i]! - own.data[n + i]!;
      if (du * du + dv * dv > max2) {
        smoothed.data[i] = own.data[i]!;
        smoothed.data[n + i] = own.data[n + i]!;
      }
    }
    const guard = this.settings.photometricGuard;
    if (images && guard !== 'off') {
      this.refLuma ??= lumaOf(images.reference);
      keepOwnWhereWorse({ smoothed, own }, { reference: this.refLuma, current: lumaOf(images.current) }, guard);
    }
    for (const s of [...this.own.keys()]) if (s < t - r + 1) this.own.delete(s);
    for (const s of [...this.forward.keys()]) if (s < t - r + 1) this.forward.delete(s);
    return smoothed;
  }
}

/**
 * Where the smoothed flow explains the current frame clearly worse than the frame's own — the windowed squared luma
 * residual of the reference warped by it exceeds `ratio` × the own flow's + `floor` — the frame's own is kept, in
 * place. Motion a quadratic over ±r frames cannot follow (speech, a blink) shows there; on flat skin both explain
 * the frame equally and the smoothed flow stays. Lumas are planar, 0..1, at the flows' size.
 */
export function keepOwnWhereWorse(
  flows: { readonly smoothed: FlowField; readonly own: FlowField },
  luma: { readonly reference: Float32Array; readonly current: Float32Array },
  s: PhotometricGuard,
): void {
  const { smoothed, own } = flows;
  const { reference, current } = luma;
  const { width: w, height: h } = own;
  const n = w * h;
  const radius = Math.max(1, Math.round((s.radiusPx * Math.max(w, h)) / 512));
  const residual = (f: FlowField): Float32Array => {
    const warped = backwardWarpPlanar(reference, 1, f);
    const e = new Float32Array(n);
    for (let i = 0; i < n; i++) e[i] = (255 * (warped[i]! - current[i]!)) ** 2;
    return boxMean(e, w, h, radius);
  };
  const es = residual(smoothed);
  const eo = residual(own);
  for (let i = 0; i < n; i++)
    if (es[i]! > s.ratio * eo[i]! + s.floor) {
      smoothed.data[i] = own.data[i]!;
      smoothed.data[n + i] = own.data[n + i]!;
    }
}
