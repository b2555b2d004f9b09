import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fitStateFiles } from '@streamedit/pipeline';
import type { StageContext } from '../jobs/stages';
import { ArtifactCorruptError, sha256File } from '../storage/checksums';

/** What checkpoint copies need of a stage's context (`log`: where a skipped corrupt checkpoint is reported). */
export type CheckpointContext = Pick<StageContext, 'store' | 'keys' | 'signal'> & Partial<Pick<StageContext, 'log'>>;

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
 * Puts the newest complete, INTACT stored check into the model folder, so that `fitModel` (and the trainer in it)
 * resumes from it instead of iteration 0. Returns its iteration, or undefined when storage has none (a first
 * attempt). A check whose checkpoint does not match its sha256 sidecar (or whose files fail the store's own
 * checksums) is logged, removed from storage and skipped: training resumes from the check before it, and stores a
 * fresh one when it gets there again. A damaged checkpoint is never loaded.
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
  for (const iteration of complete) {
    try {
      for (const name of fitStateFiles(iteration)) {
        await ctx.store.downloadToFile(ctx.keys.checkpointFile(iteration, name), join(modelDir, name));
      }
      await verifySidecar(modelDir, iteration);
      return iteration;
    } catch (err) {
      if (!(err instanceof ArtifactCorruptError || err instanceof CheckpointCorruptError)) throw err;
      ctx.log?.warn({ iteration, reason: err.message }, 'stored checkpoint is corrupt: skipped and removed');
      await Promise.all(fitStateFiles(iteration).map((name) => rm(join(modelDir, name), { force: true })));
      await ctx.store.deletePrefix(`${ctx.keys.checkpoint(iteration)}/`);
    }
  }
  return undefined;
}

/** A checkpoint's bytes differ from the digest in its sha256 sidecar. */
export class CheckpointCorruptError extends Error {
  constructor(iteration: number, detail: string) {
    super(`The checkpoint of iteration ${iteration} does not match its sha256 sidecar (${detail}).`);
    this.name = 'CheckpointCorruptError';
  }
}

/** Checks `checkpoint-N.pt` against `checkpoint-N.pt.sha256` ("<hex>  <name>", as the trainer writes it). */
async function verifySidecar(modelDir: string, iteration: number): Promise<void> {
  const [checkpoint, , sidecar] = fitStateFiles(iteration);
  const expected = /^([0-9a-f]{64})\b/.exec((await readFile(join(modelDir, sidecar!), 'utf8')).trim())?.[1];
  if (!expected) throw new CheckpointCorruptError(iteration, 'the sidecar holds no sha256');
  const actual = await sha256File(join(modelDir, checkpoint!));
  if (actual !== expected)
    throw new CheckpointCorruptError(iteration, `sha256 ${actual.slice(0, 12)}…, sidecar ${expected.slice(0, 12)}…`);
}
