import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProgressListener } from '@streamedit/pipeline';
import { downloadJobFolder, type AnalysisFolder } from '../storage/job-work-dir';
import type { StageContext } from '../jobs/stages';

export type { AnalysisFolder };

/** Files a pipeline step leaves while writing (`*.part`, `*.tmp`): never stored. */
const PARTIAL = /\.(part|tmp)$/;

/**
 * Uploads the files of a local folder to the job's `folder` (flat: the pipeline's folders have no subfolders). The
 * `*.json` metadata goes last: the pipeline opens a folder only once its metadata is there, and so must a reader
 * of storage. Returns the bytes stored.
 */
export async function uploadFolder(ctx: StageContext, folder: AnalysisFolder, dir: string): Promise<number> {
  const names = (await readdir(dir)).filter((n) => !PARTIAL.test(n)).sort((a, b) => metaLast(a) - metaLast(b));
  let bytes = 0;
  for (const name of names) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    ctx.signal.throwIfAborted();
    bytes += await ctx.store.putFile(ctx.keys.file(folder, name), path, { signal: ctx.signal });
  }
  return bytes;
}

const metaLast = (name: string): number => (name.endsWith('.json') ? 1 : 0);

/** Downloads the job's `folder` into `dir` (created); a folder without its metadata was never finished: an error. */
export async function downloadFolder(ctx: StageContext, folder: AnalysisFolder, dir: string): Promise<void> {
  await downloadJobFolder({ store: ctx.store, keys: ctx.keys, folder, dir, signal: ctx.signal });
}

/**
 * Spreads the progress of consecutive steps of one stage (each reporting its own done/total under its own `stage`
 * name) over the stage's 0…1, in the order given: weights are the steps' shares. Unknown steps are ignored.
 */
export function phasedProgress(
  progress: ProgressListener,
  stage: string,
  weights: Readonly<Record<string, number>>,
): ProgressListener {
  const steps = Object.keys(weights);
  const sum = steps.reduce((s, k) => s + weights[k]!, 0);
  return (e) => {
    const i = steps.indexOf(e.stage);
    if (i < 0 || !e.total) return;
    const before = steps.slice(0, i).reduce((s, k) => s + weights[k]!, 0);
    const fraction = (before + weights[e.stage]! * Math.min(1, e.done / e.total)) / sum;
    progress({ stage, done: Math.round(fraction * 1000), total: 1000, info: { step: e.stage } });
  };
}
