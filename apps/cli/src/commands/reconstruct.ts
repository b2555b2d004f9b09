import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_ARR, InputError, reconstructVideo, type ReconstructionResult } from '@streamedit/pipeline';
import { progressBars } from '../progress';
import { action } from '../run-command';
import { parseCount, parsePreset, parseSynthesis, synthesisOption } from './options';

interface ReconstructFlags {
  frames: string;
  arr: boolean;
  split: boolean;
  preset: string;
  iterations?: string;
  checkEvery?: string;
  synthesis: string;
  method: 'model' | 'landmark';
  json?: string;
  progress: boolean;
  workDir?: string;
  reuse?: boolean;
}

/** One line of the human summary. */
export function summaryLines(r: ReconstructionResult): string[] {
  const lines = [
    `${r.video}: ${r.frames} frames ${r.width}×${r.height}, method ${r.method}, synthesis ${r.synthesis}, ${r.iterations} iterations`,
    `  all frames      PSNR ${r.all.psnr.toFixed(2)} dB  SSIM ${r.all.ssimPercent.toFixed(1)} %  references ${r.references} (budget ${r.referenceBudget})`,
    `  synthesis       ${(100 * r.synthesizedFraction).toFixed(1)} % of pixels, ${r.synthesisMsPerFrame.toFixed(0)} ms/frame`,
  ];
  if (r.streaming) {
    lines.push(
      `  streaming split fitted ${r.streaming.fitted.psnr.toFixed(2)} dB / ${r.streaming.fitted.ssimPercent.toFixed(1)} %, unseen last 40 % ${r.streaming.unseen.psnr.toFixed(2)} dB / ${r.streaming.unseen.ssimPercent.toFixed(1)} % (${r.streaming.unseenFullyFitted.psnr.toFixed(2)} dB with the model fitted on every frame), ${r.streaming.references} references`,
    );
  }
  lines.push(
    `  wall time ${Object.entries(r.timingsMs)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  return lines;
}

export function register(program: Command): void {
  program
    .command('reconstruct')
    .description(
      'the reconstruction protocol of ../shared/data/README.md: propagate the unedited reference, compare with the real frames',
    )
    .argument('<file>', 'the video')
    .option('--frames <n>', 'first N frames', '300')
    .option('--no-arr', 'a single reference (frame 0), no adaptive reference replacement')
    .option('--no-split', 'skip the streaming split (fit on the first 60 %, report the last 40 % apart)')
    .addOption(new Option('--preset <name>', 'trainer preset').choices(['cpu', 'paper', 'tiny']).default('cpu'))
    .option('--iterations <n>', "override the preset's training iterations")
    .option('--check-every <n>', "override the preset's uncertainty-check period")
    .addOption(synthesisOption())
    .addOption(
      new Option('--method <m>', 'model = trained PPCE; landmark = landmark warp only (ablation)')
        .choices(['model', 'landmark'])
        .default('model'),
    )
    .option('--json <file>', 'write the full result as JSON')
    .option('--work-dir <dir>', 'keep intermediate artifacts here')
    .option(
      '--reuse',
      'with --work-dir: reuse its analysis and fits made with the same settings (e.g. a bench hdtf cache)',
    )
    .option('--no-progress', 'no progress bars')
    .action(
      action(async (file: string, o: ReconstructFlags) => {
        if (o.reuse && !o.workDir)
          throw new InputError('--reuse needs --work-dir DIR (a folder of an earlier run on this video).');
        const bars = progressBars(o.progress);
        let result: ReconstructionResult;
        try {
          result = await reconstructVideo(
            resolve(file),
            {
              frames: parseCount(o.frames, '--frames', 2),
              preset: parsePreset(o.preset),
              maxIterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
              checkEvery: o.checkEvery ? parseCount(o.checkEvery, '--check-every', 1) : undefined,
              arr: o.arr ? DEFAULT_ARR : false,
              synthesis: parseSynthesis(o.synthesis),
              streamingSplit: o.split,
              method: o.method,
              workDir: o.workDir ? resolve(o.workDir) : undefined,
              reuse: o.reuse,
            },
            bars.listener,
          );
        } finally {
          bars.stop();
        }
        if (o.json) await writeFile(resolve(o.json), JSON.stringify(result, null, 2));
        process.stdout.write(`${summaryLines(result).join('\n')}\n`);
      }),
    );
}
