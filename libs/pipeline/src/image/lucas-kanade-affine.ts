import { boxMean } from './lift-flow';

/** Per-pixel Lucas–Kanade terms of one step: the warped source's gradient, the residual, the robust weight. */
export interface StepTerms {
  readonly width: number;
  readonly height: number;
  readonly gx: Float32Array;
  readonly gy: Float32Array;
  readonly res: Float32Array;
  readonly weight: Float32Array;
}

/** A rectangle of the frame, the pixels in it that get a correction, and their seam sides (0 = none). */
export interface AffineRegion {
  readonly x0: number;
  readonly y0: number;
  readonly cw: number;
  readonly ch: number;
  /** Per crop pixel: +1 / −1 = that side of a seam (its window sums that side and unlabelled pixels), 0 = none. */
  readonly sides: Int8Array;
  /** Per crop pixel: 1 = solve here. */
  readonly solve: Uint8Array;
}

/**
 * One Gauss–Newton step of Lucas–Kanade with an *affine* motion over each pixel's window (the flow's value and its
 * four derivatives), solved at the pixels `region.solve` marks; writes the translation part into `du`, `dv` (frame
 * sized). Why: next to the lips of an opening mouth the flow changes by a few tenths of a pixel per pixel, and a
 * window that may not cross the seam is one-sided there — a constant-flow window then returns the flow of its
 * centroid, pixels away from the pixel it is for. The affine model removes that bias (and the one a window's
 * uneven texture causes wherever the head turns).
 */
export function affineStep(
  t: StepTerms,
  region: AffineRegion,
  r: number,
  damping: number,
  out: { du: Float32Array; dv: Float32Array },
): void {
  const { x0, y0, cw, ch } = region;
  const w = t.width;
  const cx = (cw - 1) / 2;
  const cy = (ch - 1) / 2;
  const cn = cw * ch;
  const sideSet = [1, -1, 0].filter((side) => region.sides.some((s, k) => s === side && region.solve[k]));
  // λ for the translation, λ·(window variance) for the derivatives: the same weight on a shift at the window's edge.
  const variance = (2 * ((2 * r + 1) ** 2 - 1)) / 12;
  const m = new Float64Array(36);
  const b = new Float64Array(6);
  for (const side of sideSet) {
    // sums[p·6 + mono]: box means of product p (xx, xy, yy, xr, yr) times monomial (1, X, Y, X², XY, Y²).
    const sums: Float32Array[] = new Array(30);
    const a = new Float32Array(cn);
    const prod = new Float32Array(cn);
    for (let p = 0; p < 5; p++) {
      for (let y = 0, k = 0; y < ch; y++)
        for (let x = 0; x < cw; x++, k++) {
          const sk = region.sides[k]!;
          if (side !== 0 && sk === -side) {
            prod[k] = 0;
            continue;
          }
          const i = (y0 + y) * w + x0 + x;
          const wt = t.weight[i]!;
          const g = p === 0 || p === 1 || p === 3 ? t.gx[i]! : t.gy[i]!;
          const h = p === 0 ? t.gx[i]! : p === 1 || p === 2 ? t.gy[i]! : t.res[i]!;
          prod[k] = wt * g * h;
        }
      for (let mono = 0; mono < (p < 3 ? 6 : 3); mono++) {
        for (let y = 0, k = 0; y < ch; y++) {
          const Y = y - cy;
          for (let x = 0; x < cw; x++, k++) {
            const X = x - cx;
            const f =
              mono === 0 ? 1 : mono === 1 ? X : mono === 2 ? Y : mono === 3 ? X * X : mono === 4 ? X * Y : Y * Y;
            a[k] = prod[k]! * f;
          }
        }
        sums[p * 6 + mono] = boxMean(boxMean(a, cw, ch, r), cw, ch, r);
      }
    }
    const v = new Float64Array(30);
    for (let k = 0; k < cn; k++) {
      if (!region.solve[k] || region.sides[k] !== side) continue;
      const px = (k % cw) - cx;
      const py = Math.floor(k / cw) - cy;
      for (let j = 0; j < 30; j++) v[j] = sums[j] ? sums[j]![k]! : 0;
      // Window sums of product p times (qx − px)^i (qy − py)^j, by the binomial expansion.
      const s1 = (p: number): number => v[p * 6]!;
      const sx = (p: number): number => v[p * 6 + 1]! - px * v[p * 6]!;
      const sy = (p: number): number => v[p * 6 + 2]! - py * v[p * 6]!;
      const sxx = (p: number): number => v[p * 6 + 3]! - 2 * px * v[p * 6 + 1]! + px * px * v[p * 6]!;
      const sxy = (p: number): number => v[p * 6 + 4]! - px * v[p * 6 + 2]! - py * v[p * 6 + 1]! + px * py * v[p * 6]!;
      const syy = (p: number): number => v[p * 6 + 5]! - 2 * py * v[p * 6 + 2]! + py * py * v[p * 6]!;
      // φ = (gx, gy, gx·dx, gx·dy, gy·dx, gy·dy); θ = (du, dv, ∂u/∂x, ∂u/∂y, ∂v/∂x, ∂v/∂y). Products: 0 xx, 1 xy, 2 yy.
      const A = [
        s1(0),
        s1(1),
        sx(0),
        sy(0),
        sx(1),
        sy(1),
        0,
        s1(2),
        sx(1),
        sy(1),
        sx(2),
        sy(2),
        0,
        0,
        sxx(0),
        sxy(0),
        sxx(1),
        sxy(1),
        0,
        0,
        0,
        syy(0),
        sxy(1),
        syy(1),
        0,
        0,
        0,
        0,
        sxx(2),
        sxy(2),
        0,
        0,
        0,
        0,
        0,
        syy(2),
      ];
      for (let i = 0; i < 6; i++)
        for (let j = i; j < 6; j++) {
          m[i * 6 + j] = A[i * 6 + j]!;
          m[j * 6 + i] = A[i * 6 + j]!;
        }
      for (let i = 0; i < 6; i++) m[i * 6 + i] = m[i * 6 + i]! + (i < 2 ? damping : damping * variance);
      b[0] = -s1(3);
      b[1] = -s1(4);
      b[2] = -sx(3);
      b[3] = -sy(3);
      b[4] = -sx(4);
      b[5] = -sy(4);
      const sol = solve6(m, b);
      const i = (y0 + Math.floor(k / cw)) * w + x0 + (k % cw);
      out.du[i] = sol[0]!;
      out.dv[i] = sol[1]!;
    }
  }
}

/** Solves the symmetric positive-definite 6 × 6 system m·θ = b (Cholesky); m and b are overwritten. */
function solve6(m: Float64Array, b: Float64Array): Float64Array {
  const n = 6;
  for (let j = 0; j < n; j++) {
    let d = m[j * n + j]!;
    for (let k = 0; k < j; k++) d -= m[j * n + k]! * m[j * n + k]!;
    d = Math.sqrt(Math.max(d, 1e-12));
    m[j * n + j] = d;
    for (let i = j + 1; i < n; i++) {
      let s = m[i * n + j]!;
      for (let k = 0; k < j; k++) s -= m[i * n + k]! * m[j * n + k]!;
      m[i * n + j] = s / d;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= m[i * n + k]! * b[k]!;
    b[i] = s / m[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= m[k * n + i]! * b[k]!;
    b[i] = s / m[i * n + i]!;
  }
  return b;
}
