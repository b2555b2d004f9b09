/**
 * Checkpoints of the farm's train stage in storage (a real local artifact store): a check is stored with its sidecar
 * last, and a new attempt restores only the newest COMPLETE check, which `fitModel` then resumes from.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fitStateFiles, latestFitState, writeFitState, type FitState } from '@streamedit/pipeline';
import { jobKeys, LocalArtifactStore } from '@streamedit/farm';
import { restoreCheckpoint, storeCheckpoint } from '@streamedit/farm/stages/checkpoints';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farm-checkpoints-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

/** A check as the trainer and fitModel leave it in a model folder. */
async function writeCheck(modelDir: string, iteration: number, windows: FitState['windows']): Promise<void> {
  const [checkpoint, , sidecar] = fitStateFiles(iteration);
  await writeFile(join(modelDir, checkpoint!), `weights after ${iteration}`);
  await writeFitState(modelDir, {
    iteration,
    windows,
    history: [{ iteration, windows: windows.length, meanSigma: 0.1 }],
  });
  // As the trainer writes it (checkpoint.py): "<sha256 hex>  <file name>".
  const digest = createHash('sha256').update(`weights after ${iteration}`).digest('hex');
  await writeFile(join(modelDir, sidecar!), `${digest}  ${checkpoint}\n`);
}

test('fitStateFiles: checkpoint, ARR state, then the sidecar that marks the check complete', () => {
  assert.deepEqual(fitStateFiles(10), ['checkpoint-00000010.pt', 'arr-00000010.json', 'checkpoint-00000010.pt.sha256']);
});

test('a new attempt restores the newest complete stored check, and fitModel would resume with its windows', async () => {
  const store = new LocalArtifactStore(join(dir, 'store'));
  const ctx = { store, keys: jobKeys(randomUUID()), signal: new AbortController().signal };
  const first = join(dir, 'attempt-1');
  await mkdir(first, { recursive: true });
  const split = [
    { reference: 0, start: 0, end: 7, cause: 'keyframe' as const },
    { reference: 7, start: 7, end: 12, cause: 'uncertainty' as const, score: 0.3 },
  ];
  await writeCheck(first, 10, split);
  await storeCheckpoint(ctx, first, 10);
  // Iteration 20 was being stored when the worker died: its sidecar never arrived.
  await writeCheck(first, 20, split);
  for (const name of fitStateFiles(20).slice(0, 2))
    await store.putFile(ctx.keys.checkpointFile(20, name), join(first, name));

  const second = join(dir, 'attempt-2');
  await mkdir(second, { recursive: true });
  assert.equal(await latestFitState(second), undefined, 'an empty model folder is a fresh fit');
  assert.equal(await restoreCheckpoint(ctx, second), 10);
  assert.equal(await readFile(join(second, 'checkpoint-00000010.pt'), 'utf8'), 'weights after 10');
  const state = await latestFitState(second);
  assert.equal(state?.iteration, 10);
  assert.deepEqual(state?.windows, split);

  const none = { ...ctx, keys: jobKeys(randomUUID()) };
  assert.equal(await restoreCheckpoint(none, join(dir, 'attempt-3')), undefined, 'nothing stored: start from 0');
});
