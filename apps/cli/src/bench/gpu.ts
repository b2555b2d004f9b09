import { readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import {
  analyzeVideo,
  initialWindows,
  InputError,
  loadAnalysis,
  modelSize,
  PRESET_SIDE,
  REPO_ROOT,
  runTrainerCommand,
  workLayout,
  writeTrainingData,
  type ProgressListener,
} from '@streamedit/pipeline';

/** The pack must travel to the GPU machine with the working tree (`run` carries ≤ 64 MiB; the issue asks ≤ 40 MB). */
export const GPU_PACK_MAX_BYTES = 40e6;

export interface GpuPackOptions {
  /** The clip to analyse (default: ../shared/data/videos/may_theresa_5s_512.mp4). */
  readonly clip: string;
  /** The pack folder (default `.gpu-pack` in the repo, git-ignored: the packed clip is test data, never committed). */
  readonly pack: string;
  /** First N frames of the clip. */
  readonly frames: number;
  /** Where the clip's analysis is kept (reused by later runs). */
  readonly cacheDir: string;
}

/** The `packed` event of `python -m streamedit_trainer gpu-pack`. */
export interface GpuPackSummary {
  readonly path: string;
  readonly frames: number;
  readonly bytes: number;
  readonly initFlow: { scale: number; meanAbsErrorPx: number; maxAbsErrorPx: number };
  readonly arrays: Readonly<Record<string, number>>;
}

/**
 * `bench gpu` (this machine's half): analyses the clip as `edit`/`reconstruct` do (frames, landmarks and masks,
 * XFeat features), writes the trainer's data directory for the first ARR windows (one reference, landmark-warp init
 * flows at the `paper` preset's model size) and packs it with the trainer's `gpu-pack` (lossless frames and masks,
 * float16 features and init flows, sha256 in a manifest). The GPU half is `bash scripts/gpu-bench.sh PACK`.
 */
export async function packGpuBench(
  o: GpuPackOptions,
  onProgress: ProgressListener,
): Promise<{ summary: GpuPackSummary; command: string; table: string }> {
  const workDir = join(o.cacheDir, 'gpu', basename(o.clip).replace(/\.[^.]+$/, ''));
  const analysis =
    (await loadAnalysis(workDir, o.clip, o.frames)) ??
    (await analyzeVideo(o.clip, workDir, { maxFrames: o.frames }, onProgress));
  const dirs = workLayout(workDir);
  const meta = JSON.parse(await readFile(join(dirs.frames, 'frames.json'), 'utf8')) as {
    width: number;
    height: number;
  };
  await writeTrainingData(
    workDir,
    initialWindows(analysis.count, []),
    modelSize(meta.width, meta.height, PRESET_SIDE.paper),
  );
  const events = await runTrainerCommand([
    'gpu-pack',
    '--data',
    dirs.train,
    '--pack',
    o.pack,
    '--clip',
    basename(o.clip),
  ]);
  const summary = events.find((e) => e.type === 'packed') as unknown as GpuPackSummary | undefined;
  if (!summary) throw new InputError('the trainer wrote no pack (no `packed` event); see its log above.');
  const rel = relative(REPO_ROOT, o.pack) || '.';
  const command = `bash scripts/gpu-bench.sh ${rel}`;
  const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
  const table = [
    `packed ${basename(o.clip)}: ${summary.frames} frames, ${mb(summary.bytes)} in ${o.pack}` +
      (summary.bytes > GPU_PACK_MAX_BYTES ? ` (over the ${mb(GPU_PACK_MAX_BYTES)} budget: use --frames)` : ''),
    `  ${Object.entries(summary.arrays)
      .map(([file, bytes]) => `${file} ${mb(bytes)}`)
      .join(', ')}`,
    `  init flow at 1/${summary.initFlow.scale}: resampled back, mean error ${summary.initFlow.meanAbsErrorPx.toFixed(4)} px, max ${summary.initFlow.maxAbsErrorPx.toFixed(3)} px`,
    `on the GPU machine (CUDA PyTorch + numpy): ${command}`,
  ].join('\n');
  return { summary, command, table };
}
