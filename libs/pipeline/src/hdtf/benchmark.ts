import { basename } from 'node:path';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { reconstructVideo, type ReconstructionResult } from '../job/reconstruct';
import type { ProgressListener } from '../progress';
import { f1, f2, formatTable } from '../report-table';
import { runDisBaseline, type DisResult } from './dis-baseline';

/** Settings of one clip of the HDTF-style benchmark. */
export interface BenchmarkClipOptions {
  readonly frames: number;
  readonly preset: CorrespondencePreset;
  /** Override the preset's training iterations. */
  readonly iterations?: number;
  /** The Table 3 ablations (without PPCE, without ARR) [true]. */
  readonly ablations?: boolean;
  /** Work dir of the clip; with `reuse`, an analysis and fits already there are reused. */
  readonly workDir?: string;
  readonly reuse?: boolean;
}

/** One clip of the Table-1-style report. */
export interface HdtfRow {
  readonly clip: string;
  readonly full: ReconstructionResult;
  readonly withoutArr?: ReconstructionResult;
  readonly withoutPpce?: ReconstructionResult;
  readonly dis: DisResult | { skipped: string };
}

/** Why LPIPS is empty: no LPIPS backbone can be obtained here, and the report says so rather than guessing. */
export const LPIPS_NOTE =
  'LPIPS: empty — no LPIPS ONNX model is configured (the AlexNet/VGG LPIPS weights are not available offline here).';

/**
 * The reconstruction protocol of ../shared/data/README.md on one clip: ARR with the streaming split, the ablations
 * (without PPCE: landmark warp only; without ARR: one reference) and the DIS baseline in the same run. The CLI's
 * `bench hdtf` runs it clip after clip; the farm runs one job per clip.
 */
export async function benchmarkClip(
  video: string,
  o: BenchmarkClipOptions,
  onProgress: ProgressListener,
): Promise<HdtfRow> {
  const common = {
    frames: o.frames,
    preset: o.preset,
    maxIterations: o.iterations,
    workDir: o.workDir,
    reuse: o.reuse,
  };
  const ablations = o.ablations ?? true;
  const full = await reconstructVideo(video, { ...common, streamingSplit: true }, onProgress);
  const withoutArr = ablations
    ? await reconstructVideo(video, { ...common, arr: false, streamingSplit: false }, onProgress)
    : undefined;
  const withoutPpce = ablations
    ? await reconstructVideo(video, { ...common, arr: false, method: 'landmark', streamingSplit: false }, onProgress)
    : undefined;
  return {
    clip: basename(video).replace(/\.[^.]+$/, ''),
    full,
    withoutArr,
    withoutPpce,
    dis: await runDisBaseline(video, o.frames),
  };
}

/** The report of a benchmark: a plain-text table, the same as Markdown (with the LPIPS note) and CSV. */
export interface HdtfReport {
  readonly table: string;
  readonly markdown: string;
  readonly csv: string;
}

const HEADER = [
  'clip',
  'frames',
  'PSNR',
  'SSIM %',
  'LPIPS',
  'refs',
  'split: fitted PSNR',
  'split: last 40 % PSNR',
  'same frames, fit on all',
  'split Δ vs same frames',
  'w/o ARR PSNR',
  'w/o PPCE PSNR',
  'DIS PSNR / SSIM',
  'wall s',
];

/** Per clip and mean: SSIM, PSNR, LPIPS (empty, see {@link LPIPS_NOTE}), references, streaming split, ablations, DIS, wall time. */
export function hdtfReport(rows: readonly HdtfRow[]): HdtfReport {
  const cells = rows.map((r) => [
    r.clip,
    String(r.full.frames),
    f2(r.full.all.psnr),
    f1(r.full.all.ssimPercent),
    '—',
    `${r.full.references}/${r.full.referenceBudget}`,
    f2(r.full.streaming?.fitted.psnr),
    f2(r.full.streaming?.unseen.psnr),
    f2(r.full.streaming?.unseenFullyFitted.psnr),
    f2(splitDelta(r)),
    f2(r.withoutArr?.all.psnr),
    f2(r.withoutPpce?.all.psnr),
    'psnr' in r.dis ? `${f2(r.dis.psnr)} / ${f1(r.dis.ssimPercent)}` : `— (${r.dis.skipped})`,
    f1((r.full.timingsMs.total ?? 0) / 1000),
  ]);
  const meanOf = (pick: (r: HdtfRow) => number | undefined): number => {
    const v = rows.map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  cells.push([
    'mean',
    '',
    f2(meanOf((r) => r.full.all.psnr)),
    f1(meanOf((r) => r.full.all.ssimPercent)),
    '—',
    '',
    f2(meanOf((r) => r.full.streaming?.fitted.psnr)),
    f2(meanOf((r) => r.full.streaming?.unseen.psnr)),
    f2(meanOf((r) => r.full.streaming?.unseenFullyFitted.psnr)),
    f2(meanOf(splitDelta)),
    f2(meanOf((r) => r.withoutArr?.all.psnr)),
    f2(meanOf((r) => r.withoutPpce?.all.psnr)),
    `${f2(meanOf((r) => ('psnr' in r.dis ? r.dis.psnr : undefined)))} / ${f1(meanOf((r) => ('psnr' in r.dis ? r.dis.ssimPercent : undefined)))}`,
    '',
  ]);
  const table = formatTable(HEADER, cells);
  const csv = [HEADER, ...cells]
    .map((row) => row.map((c) => (/[",]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(','))
    .join('\n');
  return { table: `${table}\n${LPIPS_NOTE}`, markdown: `${table}\n\n${LPIPS_NOTE}\n`, csv: `${csv}\n` };
}

/**
 * What not seeing the last 40 % in training costs: their PSNR edited by the split model minus the same frames edited
 * by the model fitted on every frame (the first 60 % are nearer the reference, so the split's own fitted frames are
 * no control for this).
 */
function splitDelta(r: HdtfRow): number | undefined {
  const s = r.full.streaming;
  return s ? s.unseen.psnr - s.unseenFullyFitted.psnr : undefined;
}

/** The Markdown file of a report, with the command or request that produced it. */
export function hdtfMarkdown(report: HdtfReport, command: string): string {
  return `# HDTF-style reconstruction benchmark\n\nCommand: \`${command}\`\n\n${report.markdown}`;
}
