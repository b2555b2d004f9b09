import type { RgbFrame } from '../image/frame';

/** What `psnr` returns for identical frames (infinite PSNR), the convention of `dis_baseline.py`. */
export const PSNR_IDENTICAL = 99;

/** Throws unless both frames have the same size (comparing different sizes is a caller bug). */
export function assertSameSize(a: RgbFrame, b: RgbFrame): void {
  if (a.width !== b.width || a.height !== b.height || a.data.length !== b.data.length) {
    throw new RangeError(`cannot compare a ${a.width}×${a.height} frame with a ${b.width}×${b.height} frame`);
  }
}

/** Mean squared error over every RGB sample, 8-bit scale. */
export function mse(a: RgbFrame, b: RgbFrame): number {
  assertSameSize(a, b);
  const x = a.data;
  const y = b.data;
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i]! - y[i]!;
    sum += d * d;
  }
  return sum / x.length;
}

/**
 * PSNR in dB over RGB, 8-bit peak 255, exactly as the reconstruction protocol (`/work/shared/data/README.md`) and
 * `dis_baseline.py` define it: `10·log10(255² / MSE)`, and {@link PSNR_IDENTICAL} (99) when the frames are identical.
 */
export function psnr(a: RgbFrame, b: RgbFrame): number {
  const e = mse(a, b);
  return e === 0 ? PSNR_IDENTICAL : 10 * Math.log10((255 * 255) / e);
}
