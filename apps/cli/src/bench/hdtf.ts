import type { ClipBenchOptions } from './clip-bench-options';
import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  benchmarkClip,
  hdtfMarkdown,
  hdtfReport,
  type HdtfReport,
  type HdtfRow,
  type ProgressListener,
} from '@streamedit/pipeline';
import { selectClips, videoFiles } from './select-clips';

export interface HdtfBenchOptions extends ClipBenchOptions {
  /** Skip the ablations (without PPCE, without ARR) [false]. */
  readonly noAblations?: boolean;
}

/**
 * `bench hdtf`: the reconstruction protocol of ../shared/data/README.md on every clip of a folder, as the paper's
 * Table 1 with the Table 3 ablations and the DIS baseline in the same run (`benchmarkClip`, clip after clip; the
 * farm's `POST /v1/benchmarks` runs the same per clip on its workers).
 */
export async function benchHdtf(
  o: HdtfBenchOptions,
  onProgress: ProgressListener,
): Promise<{ rows: HdtfRow[] } & HdtfReport> {
  const clips = selectClips(await videoFiles(o.dir), o.clips);
  const rows: HdtfRow[] = [];
  for (const file of clips) {
    const workDir = join(o.cacheDir, basename(file, '.mp4'));
    const options = {
      frames: o.frames,
      preset: o.preset,
      iterations: o.iterations,
      ablations: !o.noAblations,
      workDir,
      reuse: true,
    };
    rows.push(await benchmarkClip(resolve(o.dir, file), options, onProgress));
  }
  return { rows, ...hdtfReport(rows) };
}

/** Writes the Markdown, JSON and CSV files of a report next to each other (`BASE.md`, `.json`, `.csv`). */
export async function writeHdtfReport(
  base: string,
  result: Awaited<ReturnType<typeof benchHdtf>>,
  command: string,
): Promise<void> {
  await writeFile(`${base}.md`, hdtfMarkdown(result, command));
  await writeFile(`${base}.csv`, result.csv);
  await writeFile(
    `${base}.json`,
    JSON.stringify({ date: new Date().toISOString(), command, rows: result.rows }, null, 2),
  );
}
