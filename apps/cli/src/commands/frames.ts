import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  decodeFrames,
  decodePlan,
  probeVideo,
  writeFrameStore,
  writePng,
  type ProgressListener,
} from '@streamedit/pipeline';
import { progressBars } from '../progress';
import { action } from '../run-command';

/** A commander parser for an integer option ≥ `min` (a bad value exits 2 with commander's one-line message). */
export function intAtLeast(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}.`);
    return n;
  };
}

/** Progress bars on stderr that appear only once a command has run for a second (quick runs stay silent). */
export function slowProgress(): { listener: ProgressListener; stop: () => void } {
  const bars = progressBars(true);
  const t0 = Date.now();
  return { listener: (e) => Date.now() - t0 >= 1000 && bars.listener(e), stop: bars.stop };
}

/** PNG file name of frame `i`: frame_000000.png … */
export function pngName(i: number): string {
  return `frame_${String(i).padStart(6, '0')}.png`;
}

interface FramesOptions {
  out: string;
  maxSide?: number;
  start?: number;
  count?: number;
  format: 'png' | 'store';
}

async function writePngs(
  file: string,
  opts: FramesOptions,
  onProgress: ProgressListener,
): Promise<{ count: number; width: number; height: number }> {
  const info = await probeVideo(file);
  const plan = decodePlan(info, opts);
  await mkdir(opts.out, { recursive: true });
  let i = 0;
  for await (const frame of decodeFrames(info, opts)) {
    await writePng(join(opts.out, pngName(i)), frame);
    onProgress({ stage: 'frames', done: ++i, total: plan.count });
  }
  return { count: i, width: plan.width, height: plan.height };
}

/** `streamedit frames FILE --out DIR [--max-side N] [--start N] [--count N] [--format png|store]`. */
export function register(program: Command): void {
  program
    .command('frames')
    .description('decode a video at the working size into PNG files (frame_000000.png …) or a frame store')
    .argument('<file>', 'video file')
    .requiredOption('--out <dir>', 'output directory (created if needed)')
    .option('--max-side <n>', 'longest side in pixels (default: STREAMEDIT_MAX_SIDE, 512)', intAtLeast(2))
    .option('--start <n>', 'first frame (0-based)', intAtLeast(0))
    .option('--count <n>', 'frames to decode at most', intAtLeast(1))
    .addOption(
      new Option('--format <format>', 'png files or a frame store (frames.u8 + frames.json)')
        .choices(['png', 'store'])
        .default('png'),
    )
    .action(
      action(async (file: string, opts: FramesOptions) => {
        const progress = slowProgress();
        let r: { count: number; width: number; height: number };
        try {
          r =
            opts.format === 'store'
              ? await writeFrameStore(file, opts.out, opts, progress.listener)
              : await writePngs(file, opts, progress.listener);
        } finally {
          progress.stop();
        }
        process.stdout.write(`wrote ${r.count} frames of ${r.width}×${r.height} to ${opts.out} (${opts.format})\n`);
      }),
    );
}
