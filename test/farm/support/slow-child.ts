/**
 * TEST FIXTURE: a stage child process that works slowly. It starts a grandchild (`sleep`), writes both pids to the
 * file named by its first argument, then reports progress every 100 ms for `iterations` (second argument, default
 * 600, i.e. a minute) and answers `{ iterations }`. With a third argument `bad-input` it fails as bad input.
 */
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError } from '@streamedit/pipeline/errors';
// Deep import: a child should start fast, without loading the whole farm (AWS SDK, BullMQ).
import { runChildMain, sendProgress } from '@streamedit/farm/process/child-protocol';

runChildMain(async ([pidFile, iterationsArg, mode]) => {
  if (mode === 'bad-input') throw new InputError('The test child was told its input is bad.');
  const grandchild = spawn('sleep', ['300'], { stdio: 'ignore' });
  // Written aside and renamed: a reader polling for the file never sees it half written.
  writeFileSync(`${pidFile!}.part`, JSON.stringify({ child: process.pid, grandchild: grandchild.pid }));
  renameSync(`${pidFile!}.part`, pidFile!);
  const iterations = Number(iterationsArg ?? 600);
  for (let i = 1; i <= iterations; i++) {
    await sleep(100);
    sendProgress({ stage: 'train', done: i, total: iterations, info: { iteration: i, iterations } });
  }
  grandchild.kill();
  return { iterations };
});
