import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../support/cli';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamedit-bench-gpu-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('bench gpu: a clip that does not exist is bad input (exit 2, one line)', async () => {
  const r = await runCli([
    'bench',
    'gpu',
    '--clip',
    join(dir, 'missing.mp4'),
    '--pack',
    join(dir, 'p0'),
    '--no-progress',
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr.trim(), /^error: .*missing\.mp4/);
});
