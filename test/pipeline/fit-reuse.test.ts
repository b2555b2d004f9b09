import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFit, type FitResult } from '@streamedit/pipeline';

// Benchmarks reuse a finished fit from their cache; one made with other settings must never stand in for another.
test('fit reuse: only a fit of the same preset, iteration count and frame count is reused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fit-reuse-'));
  try {
    const onnxPath = join(dir, 'model.onnx');
    await writeFile(onnxPath, 'stand-in: loadFit only checks that the model file exists');
    const fit: FitResult = {
      onnxPath,
      windows: [{ reference: 0, start: 0, end: 40, cause: 'first' }],
      iterations: 1000,
      history: [],
      preset: 'cpu',
      requestedIterations: 1000,
      iterPerSecond: 3.5,
    };
    await writeFile(join(dir, 'fit.json'), JSON.stringify(fit));
    assert.equal((await loadFit(dir, 40, 'cpu', 1000))?.iterations, 1000);
    assert.equal(await loadFit(dir, 40, 'cpu'), undefined, 'the preset default is another request');
    assert.equal(await loadFit(dir, 40, 'tiny', 1000), undefined, 'another preset');
    assert.equal(await loadFit(dir, 41, 'cpu', 1000), undefined, 'another frame count');
    await rm(onnxPath);
    assert.equal(await loadFit(dir, 40, 'cpu', 1000), undefined, 'the model file is gone');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
