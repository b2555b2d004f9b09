import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Argument, Command, Option } from 'commander';
import {
  FIDELITY_METHODS,
  InputError,
  REPO_ROOT,
  settings,
  type CorrespondencePreset,
  type FidelityMethod,
  type ProgressListener,
} from '@streamedit/pipeline';
import { PRESETS, type Preset } from '@streamedit/farm';
import { benchFarm } from '../bench/farm';
import { packGpuBench } from '../bench/gpu';
import { benchFidelity } from '../bench/fidelity';
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
  pack: string;
  clip: string;
  seed: string;
  size: string;
  methods: string;
  workDir?: string;
  lookFrames: string;
  look: boolean;
  json: boolean;
}

const SUITES = ['ppce', 'hdtf', 'synthesis', 'live', 'farm', 'gpu', 'fidelity', 'source-res'] as const;
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
  readonly pack: string;
  readonly clip: string;
  readonly fidelity: {
    readonly seed: number;
    readonly size: 512 | 720;
    readonly methods: readonly FidelityMethod[];
    readonly workDir: string;
    readonly lookFrames: number;
    readonly noLook: boolean;
  };
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
  gpu: async (o, out, p) => {
    const r = await packGpuBench({ clip: o.clip, pack: o.pack, frames: o.frames, cacheDir: o.cacheDir }, p);
    await writeJson(out, 'gpu', { pack: r.summary, command: r.command });
    return `${r.table}\n(wrote ${out}; the device run writes its own gpu.json under $OUT)`;
  },
  fidelity: async (o, out, p) => {
    const sheetDir = out.replace(/\.json$/, '-sheets');
    const r = await benchFidelity({ ...o, ...o.fidelity, iterations: o.iterations ?? 1000, sheetDir }, p);
    await writeJson(out, 'fidelity', { command: `streamedit ${process.argv.slice(2).join(' ')}`, ...r });
    return `${r.table}\n(wrote ${out}, contact sheets in ${sheetDir}/)`;
  },
  'source-res': async (o, out, p) => {
    const r = await benchSourceRes(o, p);
    await writeJson(out, 'source-res', r);
    return `${r.table}\n(wrote ${out})`;
  },
};

/** `--methods a,b` of the fidelity suite, each one of {@link FIDELITY_METHODS}. */
function parseMethods(value: string): FidelityMethod[] {
  const list = value.split(',').filter(Boolean);
  const bad = list.filter((m) => !(FIDELITY_METHODS as readonly string[]).includes(m));
  if (bad.length || !list.length)
    throw new InputError(`--methods takes a comma-separated list of ${FIDELITY_METHODS.join(', ')}; got "${value}".`);
  return list as FidelityMethod[];
}

/** `--frames` when not given: the farm suite runs whole farm jobs (3 of them), so it edits fewer frames. */
const DEFAULT_FRAMES: Partial<Record<Suite, number>> = { farm: 48, fidelity: 100 };

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: print a table, write JSON (bench-results/SUITE.json)')
    .addArgument(new Argument('<suite>', 'which benchmark').choices(SUITES))
    .option('--dir <dir>', 'folder of clips', resolve(REPO_ROOT, '../shared/data/videos'))
    .option('--frames <n>', 'first N frames of each clip (default 300; farm: 48)')
    .addOption(new Option('--preset <name>', 'trainer preset').choices(['cpu', 'paper', 'tiny']).default('cpu'))
    .option('--iterations <n>', "override the preset's training iterations")
    .option(
      '--clips <list>',
      'comma-separated clips: a whole name picks that clip only, a part of a name every clip containing it',
    )
    .option('--out <json>', 'JSON output (default bench-results/SUITE.json)')
    .option('--no-ablations', 'hdtf: skip the without-PPCE / without-ARR runs')
    .addOption(
      new Option('--job-preset <name>', 'farm: preset of the overhead job (the 4-window jobs run `fast`)')
        .choices([...PRESETS])
        .default('balanced'),
    )
    .option('--pack <dir>', 'gpu: the pack folder (git-ignored test data)', resolve(REPO_ROOT, '.gpu-pack'))
    .option(
      '--clip <file>',
      'gpu: the clip to pack',
      resolve(REPO_ROOT, '../shared/data/videos/may_theresa_5s_512.mp4'),
    )
    .option('--seed <n>', 'fidelity: seed of the known-motion clips', '1')
    .addOption(new Option('--size <px>', 'fidelity: clips at 512 or 1280×720').choices(['512', '720']).default('512'))
    .option('--methods <list>', `fidelity: methods (${FIDELITY_METHODS.join(', ')})`, 'product,dis,landmark')
    .option('--work-dir <dir>', 'fidelity: work dirs kept between runs (clips, analyses, fits)')
    .option('--look-frames <n>', 'fidelity: frames of each real clip in the look oracle', '300')
    .option('--no-look', 'fidelity: skip the look oracle on the real clips')
    .option('--json', 'print the JSON result instead of the table')
    .option('--no-progress', 'no progress bars')
    .action(
      action(async (suite: Suite, o: BenchFlags) => {
        const bars = progressBars(o.progress);
        const out = resolve(o.out ?? resolve(REPO_ROOT, 'bench-results', `${suite}.json`));
        await mkdir(dirname(out), { recursive: true });
        const common = {
          dir: resolve(o.dir),
          frames: o.frames
            ? parseCount(o.frames, '--frames', suite === 'fidelity' ? 3 : 2)
            : (DEFAULT_FRAMES[suite] ?? 300),
          preset: parsePreset(o.preset),
          iterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
          clips: o.clips?.split(',').filter(Boolean),
          cacheDir: resolve(settings().cacheDir, 'bench'),
        };
        try {
          const table = await SUITE_RUNNERS[suite](
            {
              ...common,
              noAblations: !o.ablations,
              jobPreset: o.jobPreset,
              pack: resolve(o.pack),
              clip: resolve(o.clip),
              fidelity: {
                seed: parseCount(o.seed, '--seed', 0),
                size: o.size === '720' ? 720 : 512,
                methods: parseMethods(o.methods),
                workDir: resolve(o.workDir ?? resolve(settings().cacheDir, 'bench', 'fidelity')),
                lookFrames: parseCount(o.lookFrames, '--look-frames', 2),
                noLook: !o.look,
              },
            },
            out,
            bars.listener,
          );
          process.stdout.write(o.json ? `${await readFile(out, 'utf8')}\n` : `${table}\n`);
        } finally {
          bars.stop();
        }
      }),
    );
}
