import type { Command } from 'commander';
import { compareVideos, type VideoComparison } from '@streamedit/pipeline';
import { action, printJson } from '../run-command';
import { intAtLeast, slowProgress } from './frames';

export function formatComparison(r: VideoComparison): string {
  return [
    `frames  ${r.frames} at ${r.width}×${r.height}`,
    `PSNR    ${r.psnr.mean.toFixed(2)} dB (RGB)`,
    `SSIM    ${(100 * r.ssim.mean).toFixed(2)} % (luma, Gaussian 11×11 σ 1.5)`,
    '',
  ].join('\n');
}

/** `streamedit metrics A B [--json] [--max-side N] [--count N]`: PSNR and SSIM of B against A, as the protocol defines them. */
export function register(program: Command): void {
  program
    .command('metrics')
    .description('mean PSNR (dB, RGB) and SSIM (luma, Gaussian) of video B against video A, frame by frame')
    .argument('<a>', 'reference video')
    .argument('<b>', 'video to measure')
    .option('--max-side <n>', 'compare at this longest side (default: STREAMEDIT_MAX_SIDE, 512)', intAtLeast(2))
    .option('--count <n>', 'compare only the first N frames', intAtLeast(1))
    .option('--json', 'print JSON with per-frame values (SSIM in [0, 1])')
    .action(
      action(async (a: string, b: string, opts: { maxSide?: number; count?: number; json?: boolean }) => {
        const progress = slowProgress();
        let r: VideoComparison;
        try {
          r = await compareVideos(a, b, { maxSide: opts.maxSide, count: opts.count, onProgress: progress.listener });
        } finally {
          progress.stop();
        }
        if (opts.json) printJson(r);
        else process.stdout.write(formatComparison(r));
      }),
    );
}
