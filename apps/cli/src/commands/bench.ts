import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { REPO_ROOT, settings, type CorrespondencePreset, type ProgressListener } from '@streamedit/pipeline';
import { PRESETS, type Preset } from '@streamedit/farm';
import { benchFarm } from '../bench/farm';
import { benchHdtf, writeHdtfReport } from '../bench/hdtf';
import { benchLive } from '../bench/live';
import { benchPpce } from '../bench/ppce';
import { benchSourceRes } from '../bench/source-res';
import { benchSynthesis } from '../bench/synthesis';
import { progressBars } from '../progress';
import { action } from '../run-command';
import { parseCount, parsePreset } from './options';

interface BenchFlags {
  dir: string;
  frames?: string;
  preset: string;
  iterations?: string;
  clips?: string;
  out?: string;
  ablations: boolean;
  progress: boolean;
  jobPreset: Preset;
}

const SUITES = ['ppce', 'hdtf', 'synthesis', 'live', 'farm', 'source-res'] as const;
type Suite = (typeof SUITES)[number];

interface SuiteOptions {
  readonly dir: string;
  readonly frames: number;
  readonly preset: CorrespondencePreset;
  readonly iterations?: number;
  readonly clips?: string[];
  readonly cacheDir: string;
  readonly noAblations: boolean;
  readonly jobPreset: Preset;
}

/** Writes `{suite, date, ...result}` as JSON at `out`. */
async function writeJson(out: string, suite: Suite, result: object): Promise<void> {
  await writeFile(out, JSON.stringify({ suite, date: new Date().toISOString(), ...result }, null, 2));
}

/** Every suite: runs it, writes its files, returns the table to print. */
const SUITE_RUNNERS: Record<Suite, (o: SuiteOptions, out: string, onProgress: ProgressListener) => Promise<string>> = {
  ppce: async (o, out, p) => {
    const r = await benchPpce(o, p);
    await writeJson(out, 'ppce', r);
    return `${r.table}\n(wrote ${out})`;
  },
  hdtf: async (o, out, p) => {
    const r = await benchHdtf(o, p);
    const base = out.replace(/\.json$/, '');
    await writeHdtfReport(base, r, `streamedit ${process.argv.slice(2).join(' ')}`);
    return `${r.table}\n(wrote ${base}.md, .json, .csv)`;
  },
  synthesis: async (o, out, p) => {
    const r = await benchSynthesis(o, p);
    await writeJson(out, 'synthesis', r);
    return `${r.table}\n(wrote ${out})`;
  },
  live: async (o, out, p) => {
    const r = await benchLive({ ...o, cacheDir: resolve(o.cacheDir, 'live') }, p);
    await writeJson(out, 'live', r);
    return `${r.table}\n(wrote ${out})`;
  },
  farm: async (o, out, p) => {
    const r = await benchFarm(o, p);
    await writeJson(out, 'farm', r);
    return `${r.table}\n(wrote ${out})`;
  },
  'source-res': async (o, out, p) => {
    const r = await benchSourceRes(o, p);
    await writeJson(out, 'source-res', r);
    return `${r.table}\n(wrote ${out})`;
  },
};

/** `--frames` when not given: the farm suite runs whole farm jobs (3 of them), so it edits fewer frames. */
const DEFAULT_FRAMES: Partial<Record<Suite, number>> = { farm: 48 };

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: print a table, write JSON (bench-results/SUITE.json)')
    .addArgument(new Argument('<suite>', 'which benchmark').choices(SUITES))
    .option('--dir <dir>', 'folder of clips', resolve(REPO_ROOT, '../shared/data/videos'))
    .option('--frames <n>', 'first N frames of each clip (default 300; farm: 48)')
    .addOption(new Option('--preset <name>', 'trainer preset').choices(['cpu', 'paper', 'tiny']).default('cpu'))
    .option('--iterations <n>', "override the preset's training iterations")
    .option('--clips <list>', 'comma-separated substrings selecting clips')
    .option('--out <json>', 'JSON output (default bench-results/SUITE.json)')
    .option('--no-ablations', 'hdtf: skip the without-PPCE / without-ARR runs')
    .addOption(
      new Option('--job-preset <name>', 'farm: preset of the overhead job (the 4-window jobs run `fast`)')
        .choices([...PRESETS])
        .default('balanced'),
    )
    .option('--no-progress', 'no progress bars')
    .action(
      action(async (suite: Suite, o: BenchFlags) => {
        const bars = progressBars(o.progress);
        const out = resolve(o.out ?? resolve(REPO_ROOT, 'bench-results', `${suite}.json`));
        await mkdir(dirname(out), { recursive: true });
        const common = {
          dir: resolve(o.dir),
          frames: o.frames ? parseCount(o.frames, '--frames', 2) : (DEFAULT_FRAMES[suite] ?? 300),
          preset: parsePreset(o.preset),
          iterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
          clips: o.clips?.split(',').filter(Boolean),
          cacheDir: resolve(settings().cacheDir, 'bench'),
        };
        try {
          const table = await SUITE_RUNNERS[suite](
            { ...common, noAblations: !o.ablations, jobPreset: o.jobPreset },
            out,
            bars.listener,
          );
          process.stdout.write(`${table}\n`);
        } finally {
          bars.stop();
        }
      }),
    );
}
