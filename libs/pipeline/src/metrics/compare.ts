import { InputError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { decodeFrames, decodePlan } from '../media/decode';
import { probeVideo } from '../media/video-info';
import { noProgress, type ProgressListener } from '../progress';
import { psnr } from './psnr';
import { ssim } from './ssim';

/** One metric over a video: its value per frame and their mean (how the protocol reports it). */
export interface MetricSeries {
  readonly mean: number;
  readonly perFrame: readonly number[];
}

export interface VideoComparison {
  readonly frames: number;
  /** The working size both videos were compared at. */
  readonly width: number;
  readonly height: number;
  /** dB over RGB (99 for identical frames). */
  readonly psnr: MetricSeries;
  /** Gaussian SSIM on luma, in [−1, 1] (×100 for the README's %). */
  readonly ssim: MetricSeries;
}

export interface CompareOptions {
  /** Longest side both videos are decoded at. Default `settings().maxSide` (512), as the protocol. */
  readonly maxSide?: number;
  /** Compare only the first `count` frames. Default: all. */
  readonly count?: number;
  /** Progress, stage `compare`. */
  readonly onProgress?: ProgressListener;
}

export function metricSeries(values: readonly number[]): MetricSeries {
  return { mean: values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN, perFrame: values };
}

/**
 * PSNR and SSIM of video `b` against video `a`, frame by frame, both decoded in step at the working size (two
 * ffmpeg pipes, one frame of each in memory).
 * @throws InputError when the videos differ in frame count or working size (they must be versions of one video).
 */
export async function compareVideos(a: string, b: string, opts: CompareOptions = {}): Promise<VideoComparison> {
  const [ia, ib] = await Promise.all([probeVideo(a), probeVideo(b)]);
  if (ia.frameCount !== ib.frameCount && opts.count === undefined) {
    throw new InputError(
      `${a} has ${ia.frameCount} frames and ${b} has ${ib.frameCount}: compare two versions of the same video (or pass a frame count).`,
    );
  }
  const pa = decodePlan(ia, opts);
  const pb = decodePlan(ib, opts);
  if (pa.width !== pb.width || pa.height !== pb.height || pa.count !== pb.count) {
    throw new InputError(
      `${a} (${pa.count} frames at ${pa.width}×${pa.height}) and ${b} (${pb.count} at ${pb.width}×${pb.height}) do not match: compare two versions of the same video.`,
    );
  }
  const onProgress = opts.onProgress ?? noProgress;
  const da = decodeFrames(ia, opts);
  const db = decodeFrames(ib, opts);
  const ps: number[] = [];
  const ss: number[] = [];
  try {
    for (;;) {
      const [fa, fb] = await Promise.all([da.next(), db.next()]);
      if (fa.done || fb.done) break;
      ps.push(psnr(fa.value as RgbFrame, fb.value as RgbFrame));
      ss.push(ssim(fa.value as RgbFrame, fb.value as RgbFrame));
      onProgress({ stage: 'compare', done: ps.length, total: pa.count });
    }
  } finally {
    await Promise.all([da.return(undefined), db.return(undefined)]);
  }
  return { frames: ps.length, width: pa.width, height: pa.height, psnr: metricSeries(ps), ssim: metricSeries(ss) };
}
