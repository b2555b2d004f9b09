import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError, ToolError, type ProgressEvent } from '@streamedit/pipeline';
import { runInChildProcess } from '@streamedit/farm';
import { isAlive, readChildPids, waitFor } from './support/processes';

const CHILD = join(__dirname, 'support', 'slow-child.js');
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'farm-child-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('runInChildProcess: relays the JSON progress lines and resolves with the child’s result', async () => {
  const events: ProgressEvent[] = [];
  const result = await runInChildProcess<{ iterations: number }>(CHILD, [join(dir, 'ok.json'), '3'], undefined, (e) =>
    events.push(e),
  );
  assert.deepEqual(result, { iterations: 3 });
  assert.deepEqual(
    events.map((e) => [e.stage, e.done, e.total, e.info?.iteration]),
    [
      ['train', 1, 3, 1],
      ['train', 2, 3, 2],
      ['train', 3, 3, 3],
    ],
  );
});

test('runInChildProcess: bad input in the child is an InputError here; a crash is a ToolError with stderr', async () => {
  await assert.rejects(
    runInChildProcess(CHILD, [join(dir, 'bad.json'), '1', 'bad-input']),
    (e: unknown) => e instanceof InputError && /input is bad/.test(e.message),
  );
  await assert.rejects(
    runInChildProcess('-e', ['process.stderr.write("boom\\n"); process.exit(3)']),
    (e: unknown) => e instanceof ToolError && /exit code 3/.test(e.message) && /boom/.test(e.details),
  );
});

test('runInChildProcess: aborting kills the child and its own children within 5 s', async () => {
  const pidFile = join(dir, 'cancel.json');
  const controller = new AbortController();
  const running = runInChildProcess(CHILD, [pidFile], controller.signal);
  const pids = await readChildPids(pidFile);
  assert.ok(isAlive(pids.child) && isAlive(pids.grandchild));
  const started = Date.now();
  controller.abort('cancelled');
  await assert.rejects(running, (e: unknown) => e === 'cancelled');
  await waitFor('child and grandchild to exit', () => !isAlive(pids.child) && !isAlive(pids.grandchild), 5000);
  assert.ok(Date.now() - started < 5000);
});
