import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createOrtSession, InputError, ModelStore, ort, ThreadedOrtSession } from '@streamedit/pipeline';

test('ThreadedOrtSession: the same outputs as the session in this thread, errors as typed errors, gone after release', async () => {
  const path = await new ModelStore().resolve('xfeat_256x256');
  const input = new Float32Array(3 * 256 * 256).map((_, i) => ((i * 7919) % 256) / 255);
  const feeds = () => ({ images: new ort.Tensor('float32', input.slice(), [1, 3, 256, 256]) });
  const local = await createOrtSession(path, 1);
  const threaded = await ThreadedOrtSession.open(path, 1);
  try {
    assert.deepEqual([...threaded.inputNames], [...local.inputNames]);
    const name = local.inputNames[0]!;
    const expected = await local.run({ [name]: feeds().images });
    const got = await threaded.run({ [name]: feeds().images });
    assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) assert.deepEqual(got[k], v.data as Float32Array, `output ${k}`);
    await assert.rejects(threaded.run({ wrong_name: feeds().images }), /ONNX Runtime failed/);
  } finally {
    await local.release();
    await threaded.release();
  }
  await assert.rejects(threaded.run({}), /released/);
  await assert.rejects(
    ThreadedOrtSession.open('/nonexistent/model.onnx', 1),
    (e: unknown) => e instanceof Error && !(e instanceof InputError),
  );
});
