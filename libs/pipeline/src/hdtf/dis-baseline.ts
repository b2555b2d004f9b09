import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { runChild } from '../process/child-runner';
import { REPO_ROOT, settings } from '../settings';

/** The optical-flow baseline script shipped beside the checkout (needs Debian's python3-opencv). */
export const DIS_SCRIPT = resolve(REPO_ROOT, '../shared/baselines/dis_baseline.py');

/** The same baseline at the video's own size (no 512 px downscale), for source-resolution output. */
export const DIS_SOURCE_SIZE_SCRIPT = resolve(REPO_ROOT, 'scripts/dis_source_size.py');

export interface DisResult {
  readonly psnr: number;
  readonly ssimPercent: number;
  readonly refsPer100: number;
  readonly fps: number;
  readonly wallMs: number;
}

/**
 * Runs the DIS baseline on a clip in this run (same machine, same load) and parses its one-line summary.
 * Resolves `undefined` with the reason when OpenCV or the script is missing.
 */
export function runDisBaseline(
  video: string,
  frames: number,
  arrThreshold = 0,
  script: string = DIS_SCRIPT,
): Promise<DisResult | { skipped: string }> {
  if (!existsSync(script)) return Promise.resolve({ skipped: `${script} not found` });
  const t0 = Date.now();
  let stdout = '';
  return runChild({
    command: settings().pythonBin,
    args: [
      script,
      ...(script === DIS_SCRIPT ? [video, String(frames), String(arrThreshold)] : [video, String(frames)]),
    ],
    label: 'DIS baseline',
    env: { OMP_NUM_THREADS: '2' },
    onStdoutLine: (line) => void (stdout += `${line}\n`),
  }).then(
    (exit) => {
      if (exit.code !== 0)
        return {
          skipped: /No module named 'cv2'/.test(exit.stderrTail)
            ? 'python3-opencv is not installed'
            : `DIS baseline failed: ${exit.lastStderrLine}`,
        };
      const num = (k: string): number => Number(new RegExp(`${k}=([0-9.]+)`).exec(stdout)?.[1]);
      return {
        psnr: num('PSNR'),
        ssimPercent: num('SSIM'),
        refsPer100: num('refs_per_100'),
        fps: num('fps'),
        wallMs: Date.now() - t0,
      };
    },
    (err: unknown) => ({ skipped: `DIS baseline failed: ${err instanceof Error ? err.message : String(err)}` }),
  );
}
