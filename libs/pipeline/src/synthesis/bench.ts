import { performance } from 'node:perf_hooks';
import type { RgbFrame } from '../image/frame';
import { psnr, PSNR_IDENTICAL } from '../metrics/psnr';
import { synthesizeGuided } from './synthesize';
import type { GuidedSynthesisOptions } from './types';

/** One measured configuration of `benchGuidedSynthesis`. */
export interface SynthesisBenchRow {
  readonly width: number;
  readonly height: number;
  /** Fraction of the frame that was synthesised (1 = full frame). */
  readonly maskFraction: number;
  readonly threads: number;
  /** Median and fastest wall time of one synthesis, ms. */
  readonly medianMs: number;
  readonly minMs: number;
  /**
   * Reconstruction PSNR (dB) against the target over the synthesised pixels (the mask, or the whole frame), and
   * that of the plain reference copy over the same pixels: the flow-free baseline.
   */
  readonly psnr: number;
  readonly copyPsnr: number;
}

export interface SynthesisBenchOptions {
  /** Thread counts to compare. Default [1, 2]. */
  readonly threads?: readonly number[];
  /** Mask fractions to time (1 = no mask). Default [0.15, 1]. */
  readonly maskFractions?: readonly number[];
  /** Timed runs per configuration (after one warm-up run). Default 3. */
  readonly repeats?: number;
  /** Options passed to every synthesis (threads is overridden). */
  readonly synthesis?: GuidedSynthesisOptions;
}

/**
 * Times guided synthesis in the reconstruction setting (style = guide source = `reference`, guide target =
 * `target`): full frame, and masked runs where `init` is the reference copy and the mask is a fixed set of
 * discs covering the given fraction (uncertain regions come in blobs, not scattered pixels).
 */
export async function benchGuidedSynthesis(
  reference: RgbFrame,
  target: RgbFrame,
  opts: SynthesisBenchOptions = {},
): Promise<SynthesisBenchRow[]> {
  const rows: SynthesisBenchRow[] = [];
  const repeats = Math.max(1, opts.repeats ?? 3);
  for (const fraction of opts.maskFractions ?? [0.15, 1]) {
    const mask = fraction >= 1 ? undefined : discMask(reference.width, reference.height, fraction);
    const input = { style: reference, guideSource: reference, guideTarget: target, mask, init: mask && reference };
    for (const threads of opts.threads ?? [1, 2]) {
      const times: number[] = [];
      let quality = 0;
      for (let k = 0; k <= repeats; k++) {
        const t0 = performance.now();
        const r = await synthesizeGuided(input, { ...opts.synthesis, threads });
        if (k > 0) times.push(performance.now() - t0); // run 0 warms the JIT and starts the workers
        quality = regionPsnr(r.image, target, mask);
      }
      times.sort((a, b) => a - b);
      rows.push({
        width: reference.width,
        height: reference.height,
        maskFraction: mask ? coverage(mask) : 1,
        threads,
        medianMs: times[times.length >> 1]!,
        minMs: times[0]!,
        psnr: quality,
        copyPsnr: regionPsnr(reference, target, mask),
      });
    }
  }
  return rows;
}

/**
 * A deterministic mask of discs (radius 1/16 of the shorter side, centres from a fixed LCG) added until they
 * cover at least `fraction` of the frame.
 */
export function discMask(width: number, height: number, fraction: number): Uint8Array {
  const mask = new Uint8Array(width * height);
  const radius = Math.max(2, Math.round(Math.min(width, height) / 16));
  let seed = 12345;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let covered = 0;
  while (covered < fraction * width * height) {
    const cx = Math.floor(next() * width);
    const cy = Math.floor(next() * height);
    for (let y = Math.max(0, cy - radius); y <= Math.min(height - 1, cy + radius); y++) {
      for (let x = Math.max(0, cx - radius); x <= Math.min(width - 1, cx + radius); x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 <= radius * radius && !mask[y * width + x]) {
          mask[y * width + x] = 1;
          covered++;
        }
      }
    }
  }
  return mask;
}

/** PSNR over the pixels of `mask` (all when absent), the definition of `psnr`. */
function regionPsnr(a: RgbFrame, b: RgbFrame, mask: Uint8Array | undefined): number {
  if (!mask) return psnr(a, b);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let c = 3 * i; c < 3 * i + 3; c++) sum += (a.data[c]! - b.data[c]!) ** 2;
    n += 3;
  }
  return sum === 0 ? PSNR_IDENTICAL : 10 * Math.log10((255 * 255 * n) / sum);
}

function coverage(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v ? 1 : 0;
  return n / mask.length;
}
