import type { FloatImage, RgbFrame } from '../image/frame';
import { PSNR_IDENTICAL } from '../metrics/psnr';

/** PSNR (dB, RGB, 8-bit) over the pixels where `region` is 1; `undefined` when the region is empty. */
export function regionPsnr(a: RgbFrame, b: RgbFrame, region: Uint8Array): number | undefined {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < region.length; i++) {
    if (region[i] !== 1) continue;
    for (let c = 0; c < 3; c++) {
      const d = a.data[3 * i + c]! - b.data[3 * i + c]!;
      sum += d * d;
    }
    n += 3;
  }
  if (n === 0) return undefined;
  const mse = sum / n;
  return mse === 0 ? PSNR_IDENTICAL : 10 * Math.log10((255 * 255) / mse);
}

/**
 * Area under the ROC curve of a score for a binary label, accumulated pixel by pixel in log-spaced bins of the score
 * (10⁻⁶..10, 4096 bins; pairs in one bin count as ties, ½): 1 = every positive scores above every negative, 0.5 = no
 * better than chance.
 */
export class Auroc {
  static readonly BINS = 4096;
  private readonly pos = new Float64Array(Auroc.BINS);
  private readonly neg = new Float64Array(Auroc.BINS);

  add(score: number, positive: boolean): void {
    const s = Math.max(score, 1e-6);
    const b = Math.min(Auroc.BINS - 1, Math.max(0, Math.floor(((Math.log10(s) + 6) / 7) * Auroc.BINS)));
    (positive ? this.pos : this.neg)[b]! += 1;
  }

  get positives(): number {
    return this.pos.reduce((a, b) => a + b, 0);
  }

  get negatives(): number {
    return this.neg.reduce((a, b) => a + b, 0);
  }

  /** The AUROC, or `undefined` without both positives and negatives. */
  value(): number | undefined {
    const P = this.positives;
    const N = this.negatives;
    if (P === 0 || N === 0) return undefined;
    let below = 0;
    let area = 0;
    for (let b = 0; b < Auroc.BINS; b++) {
      area += this.pos[b]! * (below + 0.5 * this.neg[b]!);
      below += this.neg[b]!;
    }
    return area / (P * N);
  }
}

/** Mean absolute error over RGB of one pixel, in 8-bit levels. */
export function pixelError(a: RgbFrame, b: RgbFrame, i: number): number {
  return (
    (Math.abs(a.data[3 * i]! - b.data[3 * i]!) +
      Math.abs(a.data[3 * i + 1]! - b.data[3 * i + 1]!) +
      Math.abs(a.data[3 * i + 2]! - b.data[3 * i + 2]!)) /
    3
  );
}

/** An edit error above this (8-bit levels, mean over RGB) is what σ should flag: 10/255. */
export const EDIT_ERROR_LEVELS = 10;

/**
 * Adds one frame to the σ calibration: over the pixels of `region` (1) and of the disocclusion (`valid` = 2),
 * positive = disoccluded or edit error > {@link EDIT_ERROR_LEVELS}.
 */
export function addSigmaCalibration(
  auroc: Auroc,
  frame: { output: RgbFrame; truth: RgbFrame; region: Uint8Array; valid: Uint8Array; sigma: FloatImage },
): void {
  const { output, truth, region, valid, sigma } = frame;
  for (let i = 0; i < region.length; i++) {
    const disoccluded = valid[i] === 2;
    if (region[i] !== 1 && !disoccluded) continue;
    auroc.add(sigma.data[i]!, disoccluded || pixelError(output, truth, i) > EDIT_ERROR_LEVELS);
  }
}

/**
 * Where a dot of pure `colour` is in `frame`, searched within `radius` px of `near`: the centroid of the pixels
 * weighted by their closeness to the colour (weight (1 − d/120)² for an RGB distance d < 120, so skin, hair and
 * the grey checkerboard count for nothing). `undefined` when no pixel there is close to the colour.
 */
export function dotCentroid(
  frame: RgbFrame,
  colour: readonly [number, number, number],
  near: { x: number; y: number },
  radius: number,
): { x: number; y: number } | undefined {
  let sw = 0;
  let sx = 0;
  let sy = 0;
  const x0 = Math.max(0, Math.floor(near.x - radius));
  const x1 = Math.min(frame.width - 1, Math.ceil(near.x + radius));
  const y0 = Math.max(0, Math.floor(near.y - radius));
  const y1 = Math.min(frame.height - 1, Math.ceil(near.y + radius));
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      if ((x - near.x) ** 2 + (y - near.y) ** 2 > radius * radius) continue;
      const p = (y * frame.width + x) * 3;
      const d = Math.hypot(frame.data[p]! - colour[0], frame.data[p + 1]! - colour[1], frame.data[p + 2]! - colour[2]);
      if (d >= 120) continue;
      const w = (1 - d / 120) ** 2;
      sw += w;
      sx += w * x;
      sy += w * y;
    }
  return sw > 0 ? { x: sx / sw, y: sy / sw } : undefined;
}

/** The q-quantile (0..1, linear interpolation) of values; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const at = q * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, s.length - 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/** Mean of the finite values; NaN when none. */
export function meanOf(values: ReadonlyArray<number | undefined>): number {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
}
