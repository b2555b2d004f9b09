/**
 * Worker-thread entry of guided synthesis: holds the current level's shared buffers and runs the kernel on the
 * band of pixels each message names. Started by `pool.ts`; never imported by the library barrel.
 */
import { parentPort } from 'node:worker_threads';
import { runBand, type BandTask, type LevelBuffers } from './kernel';

let level: LevelBuffers | undefined;

parentPort!.on('message', (msg: { level: LevelBuffers } | BandTask) => {
  if ('level' in msg) {
    level = msg.level;
    return;
  }
  try {
    runBand(level!, msg);
    parentPort!.postMessage({ id: msg.id });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
