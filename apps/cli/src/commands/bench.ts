import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { REPO_ROOT, settings } from '@streamedit/pipeline';
import { benchHdtf, writeHdtfReport } from '../bench/hdtf';
import { benchLive } from '../bench/live';
import { benchPpce } from '../bench/ppce';
import { progressBars } from '../progress';
import { action } from '../run-command';
import { parseCount, parsePreset } from './options';

interface BenchFlags {
  dir: string;
  frames: string;
  preset: string;
  iterations?: string;
  clips?: string;
  out?: string;
  ablations: boolean;
  progress: boolean;
}

const SUITES = ['ppce', 'hdtf', 'live'] as const;

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: print a table, write JSON (bench-results/SUITE.json)')
    .addArgument(new Argument('<suite>', 'which benchmark').choices(SUITES))
    .option('--dir <dir>', 'folder of clips', resolve(REPO_ROOT, '../shared/data/videos'))
    .option('--frames <n>', 'first N frames of each clip', '300')
    .addOption(new Option('--preset <name>', 'trainer preset').choices(['cpu', 'paper', 'tiny']).default('cpu'))
    .option('--iterations <n>', "override the preset's training iterations")
    .option('--clips <list>', 'comma-separated substrings selecting clips')
    .option('--out <json>', 'JSON output (default bench-results/SUITE.json)')
    .option('--no-ablations', 'hdtf: skip the without-PPCE / without-ARR runs')
    .option('--no-progress', 'no progress bars')
    .action(
      action(async (suite: (typeof SUITES)[number], o: BenchFlags) => {
        const bars = progressBars(o.progress);
        const out = resolve(o.out ?? resolve(REPO_ROOT, 'bench-results', `${suite}.json`));
        await mkdir(dirname(out), { recursive: true });
        const common = {
          dir: resolve(o.dir),
          frames: parseCount(o.frames, '--frames', 2),
          preset: parsePreset(o.preset),
          iterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
          clips: o.clips?.split(',').filter(Boolean),
          cacheDir: resolve(settings().cacheDir, 'bench'),
        };
        try {
          if (suite === 'ppce') {
            const result = await benchPpce(common, bars.listener);
            await writeFile(out, JSON.stringify({ suite, date: new Date().toISOString(), ...result }, null, 2));
            process.stdout.write(`${result.table}\n(wrote ${out})\n`);
          } else if (suite === 'live') {
            const result = await benchLive({ ...common, cacheDir: resolve(common.cacheDir, 'live') }, bars.listener);
            await writeFile(out, JSON.stringify({ suite, date: new Date().toISOString(), ...result }, null, 2));
            process.stdout.write(`${result.table}\n(wrote ${out})\n`);
          } else {
            const result = await benchHdtf({ ...common, noAblations: !o.ablations }, bars.listener);
            const base = out.replace(/\.json$/, '');
            await writeHdtfReport(base, result, `streamedit ${process.argv.slice(2).join(' ')}`);
            process.stdout.write(`${result.table}\n(wrote ${base}.md, .json, .csv)\n`);
          }
        } finally {
          bars.stop();
        }
      }),
    );
}
