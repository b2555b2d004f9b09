import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { createOrtSession, InputError, loadSettings, ModelStore } from '@streamedit/pipeline';

/** onnxruntime-node's native folder: the CUDA provider library is there only when installed with ONNXRUNTIME_NODE_INSTALL=cuda12. */
const ORT_BIN = join(
  dirname(require.resolve('onnxruntime-node')),
  '..',
  'bin',
  'napi-v6',
  process.platform,
  process.arch,
);
const HAS_CUDA_PROVIDER = existsSync(join(ORT_BIN, 'libonnxruntime_providers_cuda.so'));

test('settings: STREAMEDIT_ORT_PROVIDER is cpu by default, cuda on request, anything else refused by name', () => {
  assert.equal(loadSettings({}).ortProvider, 'cpu');
  assert.equal(loadSettings({ STREAMEDIT_ORT_PROVIDER: 'cuda' }).ortProvider, 'cuda');
  assert.throws(
    () => loadSettings({ STREAMEDIT_ORT_PROVIDER: 'rocm' }),
    (e: unknown) => e instanceof InputError && /STREAMEDIT_ORT_PROVIDER/.test(e.message),
  );
});

test(`ONNX Runtime on cuda: ${HAS_CUDA_PROVIDER ? 'the CUDA provider opens the model' : 'without the CUDA provider (no GPU build here), one clear error naming the setting'}`, async () => {
  const xfeat = await new ModelStore().resolve('xfeat_256x256');
  const cpu = await createOrtSession(xfeat, 1, 'cpu');
  const inputs = cpu.inputNames;
  await cpu.release();
  if (HAS_CUDA_PROVIDER) {
    const session = await createOrtSession(xfeat, 1, 'cuda');
    assert.deepEqual(session.inputNames, inputs);
    await session.release();
    return;
  }
  await assert.rejects(
    createOrtSession(xfeat, 1, 'cuda'),
    (e: unknown) =>
      e instanceof InputError &&
      /STREAMEDIT_ORT_PROVIDER=cuda/.test(e.message) &&
      /ONNXRUNTIME_NODE_INSTALL=cuda12/.test(e.message) &&
      !e.message.includes('\n'),
  );
});
