import { readdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { reconstructVideo, type CorrespondencePreset, type ProgressListener, type ReconstructionResult } from '@streamedit/pipeline';
import { runDisBaseline, type DisResult } from './dis-baseline';
import { f1, f2, formatTable } from './table';

export interface HdtfBenchOptions {
  readonly dir: string;
  readonly frames: number;
  readonly preset: CorrespondencePreset;
  readonly iterations?: number;
  readonly clips?: readonly string[];
  readonly cacheDir: string;
  /** Skip the ablations (without PPCE, without ARR) [false]. */
  readonly noAblations?: boolean;
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
export const LPIPS_NOTE = 'LPIPS: empty — no LPIPS ONNX model is configured (the AlexNet/VGG LPIPS weights are not available offline here).';

/**
 * `bench hdtf`: the reconstruction protocol of ../shared/data/README.md on every clip of a folder, as the paper's
 * Table 1 (SSIM, PSNR, LPIPS, references, streaming split, wall time), with the Table 3 ablations (without PPCE:
 * landmark warp only; without ARR: one reference) and the DIS baseline in the same run.
 */
export async function benchHdtf(o: HdtfBenchOptions, onProgress: ProgressListener): Promise<{ rows: HdtfRow[]; table: string; markdown: string; csv: string }> {
  const clips = (await readdir(o.dir)).filter((f) => f.endsWith('.mp4') && (!o.clips?.length || o.clips.some((c) => f.includes(c)))).sort();
  const rows: HdtfRow[] = [];
  for (const file of clips) {
    const video = resolve(o.dir, file);
    const common = { frames: o.frames, preset: o.preset, maxIterations: o.iterations, workDir: join(o.cacheDir, basename(file, '.mp4')), reuse: true };
    const full = await reconstructVideo(video, { ...common, streamingSplit: true }, onProgress);
    const withoutArr = o.noAblations ? undefined : await reconstructVideo(video, { ...common, arr: false, streamingSplit: false }, onProgress);
    const withoutPpce = o.noAblations ? undefined : await reconstructVideo(video, { ...common, arr: false, method: 'landmark', streamingSplit: false }, onProgress);
    rows.push({ clip: basename(file, '.mp4'), full, withoutArr, withoutPpce, dis: await runDisBaseline(video, o.frames) });
  }
  const header = ['clip', 'frames', 'PSNR', 'SSIM %', 'LPIPS', 'refs', 'split: fitted PSNR', 'split: last 40 % PSNR', 'w/o ARR PSNR', 'w/o PPCE PSNR', 'DIS PSNR / SSIM', 'wall s'];
  const cells = rows.map((r) => {
    const dis = 'psnr' in r.dis ? `${f2(r.dis.psnr)} / ${f1(r.dis.ssimPercent)}` : `— (${r.dis.skipped})`;
    return [
      r.clip,
      String(r.full.frames),
      f2(r.full.all.psnr),
      f1(r.full.all.ssimPercent),
      '—',
      `${r.full.references}/${r.full.referenceBudget}`,
      f2(r.full.streaming?.fitted.psnr),
      f2(r.full.streaming?.unseen.psnr),
      f2(r.withoutArr?.all.psnr),
      f2(r.withoutPpce?.all.psnr),
      dis,
      f1((r.full.timingsMs.total ?? 0) / 1000),
    ];
  });
  const meanOf = (pick: (r: HdtfRow) => number | undefined): number => {
    const v = rows.map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : Number.NaN;
  };
  const disMean = meanOf((r) => ('psnr' in r.dis ? r.dis.psnr : undefined));
  cells.push([
    'mean',
    '',
    f2(meanOf((r) => r.full.all.psnr)),
    f1(meanOf((r) => r.full.all.ssimPercent)),
    '—',
    '',
    f2(meanOf((r) => r.full.streaming?.fitted.psnr)),
    f2(meanOf((r) => r.full.streaming?.unseen.psnr)),
    f2(meanOf((r) => r.withoutArr?.all.psnr)),
    f2(meanOf((r) => r.withoutPpce?.all.psnr)),
    `${f2(disMean)} / ${f1(meanOf((r) => ('psnr' in r.dis ? r.dis.ssimPercent : undefined)))}`,
    '',
  ]);
  const table = `${formatTable(header, cells)}\n${LPIPS_NOTE}`;
  const csv = [header, ...cells].map((row) => row.map((c) => (/[",]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\n');
  return { rows, table, markdown: `${formatTable(header, cells)}\n\n${LPIPS_NOTE}\n`, csv };
}

/** Writes the Markdown, JSON and CSV files of a report next to each other (`BASE.md`, `.json`, `.csv`). */
export async function writeHdtfReport(base: string, result: Awaited<ReturnType<typeof benchHdtf>>, command: string): Promise<void> {
  await writeFile(`${base}.md`, `# HDTF-style reconstruction benchmark\n\nCommand: \`${command}\`\n\n${result.markdown}`);
  await writeFile(`${base}.csv`, `${result.csv}\n`);
  await writeFile(`${base}.json`, JSON.stringify({ date: new Date().toISOString(), command, rows: result.rows }, null, 2));
}
