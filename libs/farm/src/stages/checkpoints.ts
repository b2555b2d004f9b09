import { join } from 'node:path';
import { fitStateFiles } from '@streamedit/pipeline';
import type { StageContext } from '../jobs/stages';

/** What checkpoint copies need of a stage's context. */
export type CheckpointContext = Pick<StageContext, 'store' | 'keys' | 'signal'>;

const ITER = /checkpoints\/iter-(\d+)\/([^/]+)$/;

/**
 * Copies the check at `iteration` (checkpoint, ARR state, and last the sha256 sidecar that marks it complete) from
 * the model folder to `checkpoints/iter-{n}/` in storage, where a later attempt of the stage finds it.
 */
export async function storeCheckpoint(ctx: CheckpointContext, modelDir: string, iteration: number): Promise<void> {
  for (const name of fitStateFiles(iteration)) {
    await ctx.store.putFile(ctx.keys.checkpointFile(iteration, name), join(modelDir, name), { signal: ctx.signal });
  }
}

/**
 * Puts the newest complete stored check into the model folder, so that `fitModel` (and the trainer in it) resumes
 * from it instead of iteration 0. Returns its iteration, or undefined when storage has none (a first attempt).
 */
export async function restoreCheckpoint(ctx: CheckpointContext, modelDir: string): Promise<number | undefined> {
  const stored = new Map<number, Set<string>>();
  for (const { key } of await ctx.store.list(ctx.keys.checkpoints)) {
    const m = ITER.exec(key);
    if (!m) continue;
    const n = Number(m[1]);
    stored.set(n, (stored.get(n) ?? new Set()).add(m[2]!));
  }
  const complete = [...stored]
    .filter(([n, names]) => fitStateFiles(n).every((f) => names.has(f)))
    .map(([n]) => n)
    .sort((a, b) => b - a);
  const iteration = complete[0];
  if (iteration === undefined) return undefined;
  for (const name of fitStateFiles(iteration)) {
    await ctx.store.downloadToFile(ctx.keys.checkpointFile(iteration, name), join(modelDir, name));
  }
  return iteration;
}
