/**
 * Worker-thread entry of guided synthesis: holds the current level's shared buffers and takes chunks of each
 * kernel task from the shared counter. Started by `pool.ts`; never imported by the library barrel.
 */
import { parentPort } from 'node:worker_threads';
import { runChunks, type KernelTask, type LevelBuffers } from './kernel';

let level: LevelBuffers | undefined;

export type WorkerMessage =
  { readonly level: LevelBuffers } | { readonly id: number; readonly task: KernelTask; readonly counter: Int32Array };

parentPort!.on('message', (msg: WorkerMessage) => {
  if ('level' in msg) {
    level = msg.level;
    return;
  }
  try {
    runChunks(level!, msg.task, msg.counter);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
