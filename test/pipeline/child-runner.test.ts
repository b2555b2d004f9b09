import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { childFailure, isMissingProgram, runChild, ToolError } from '@streamedit/pipeline';
import { isAlive, readChildPids, waitFor } from '../farm/support/processes';

// A child that ignores SIGTERM and starts a grandchild (a shell running sleep) that ignores it too: only the
// runner's SIGKILL to the process group ends them. It writes both pids to the file named by its argument.
const STUBBORN = `
  const { spawn } = require('node:child_process');
  process.on('SIGTERM', () => {});
  const g = spawn('sh', ['-c', 'trap "" TERM; sleep 300'], { stdio: 'ignore' });
  require('node:fs').writeFileSync(process.argv[1], JSON.stringify({ child: process.pid, grandchild: g.pid }));
  if (process.argv[2] === 'exit') process.exit(0);
  setInterval(() => {}, 1000);
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'child-runner-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('runChild: abort ends a child that ignores SIGTERM and its grandchild: SIGKILL to the group after the grace', async () => {
  const pidFile = join(dir, 'abort.json');
  const controller = new AbortController();
  const running = runChild({
    command: process.execPath,
    args: ['-e', STUBBORN, pidFile],
    signal: controller.signal,
    killGraceMs: 300,
  });
  const pids = await readChildPids(pidFile);
  assert.ok(isAlive(pids.child) && isAlive(pids.grandchild));
  const started = Date.now();
  controller.abort('stop now');
  await assert.rejects(running, (e: unknown) => e === 'stop now');
  const tookMs = Date.now() - started;
  await waitFor('child and grandchild to be gone', () => !isAlive(pids.child) && !isAlive(pids.grandchild), 5000);
  // SIGTERM alone was ignored: the end came from the SIGKILL, after the grace period.
  assert.ok(tookMs >= 250, `ended after ${tookMs} ms, before the grace period`);
});

test('runChild: a grandchild left behind by a child that exits is killed with its group', async () => {
  const pidFile = join(dir, 'exit.json');
  const exit = await runChild({ command: process.execPath, args: ['-e', STUBBORN, pidFile, 'exit'] });
  assert.equal(exit.code, 0);
  const pids = await readChildPids(pidFile);
  await waitFor('the grandchild to be gone', () => !isAlive(pids.grandchild), 5000);
});

test('runChild: the exit and the stderr tail come back; childFailure names the program and the last line', async () => {
  const exit = await runChild({
    command: process.execPath,
    args: [
      '-e',
      'for (let i = 0; i < 3000; i++) console.error("noise " + i); console.error("the reason"); process.exitCode = 3',
    ],
  });
  assert.equal(exit.code, 3);
  assert.equal(exit.lastStderrLine, 'the reason');
  assert.ok(exit.stderrTail.length <= 8192 && exit.stderrTail.endsWith('the reason\n'));
  assert.ok(!exit.stderrTail.includes('noise 0\n'), 'only the tail is kept');
  const err = childFailure('the test child', exit);
  assert.ok(err instanceof ToolError);
  assert.equal(err.message, 'the test child failed (exit code 3): the reason');
  assert.equal(err.details, exit.stderrTail);
});

test('runChild: a missing program is a ToolError that isMissingProgram recognises', async () => {
  const err = await runChild({ command: join(dir, 'no-such-program'), args: [] }).catch((e: unknown) => e);
  assert.ok(err instanceof ToolError && isMissingProgram(err), String(err));
});
