/**
 * Worker-thread entry of `ThreadedOrtSession`: one ONNX Runtime session, opened with `createOrtSession`, running the
 * requests it is sent one at a time. Started by `onnx-thread.ts`; never imported by the library barrel.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createOrtSession, ort } from './onnx';
import type { ThreadReply, ThreadRequest, ThreadStart } from './onnx-thread';

const start = workerData as ThreadStart;
const opened = createOrtSession(start.path, start.threads);

opened.then(
  (s) => parentPort!.postMessage({ kind: 'ready', inputNames: s.inputNames, inputMetadata: s.inputMetadata }),
  (err: unknown) => parentPort!.postMessage({ kind: 'failed', ...describe(err) }),
);

parentPort!.on('message', (msg: ThreadRequest) => {
  void answer(msg).then((reply) => {
    const buffers = reply.kind === 'result' ? Object.values(reply.outputs).map((o) => o.buffer) : [];
    parentPort!.postMessage(reply, buffers as ArrayBuffer[]);
  });
});

async function answer(msg: ThreadRequest): Promise<ThreadReply> {
  try {
    const session = await opened;
    if (msg.kind === 'release') {
      await session.release();
      return { kind: 'released', id: msg.id };
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims);
    const out = await session.run(feeds);
    const outputs: Record<string, Float32Array> = {};
    for (const [name, value] of Object.entries(out)) outputs[name] = new Float32Array(value.data as Float32Array);
    return { kind: 'result', id: msg.id, outputs };
  } catch (err) {
    return { kind: 'error', id: msg.id, ...describe(err) };
  }
}

function describe(err: unknown): { message: string; input: boolean } {
  return {
    message: err instanceof Error ? err.message : String(err),
    input: err instanceof Error && err.name === 'InputError',
  };
}
