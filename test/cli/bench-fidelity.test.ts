import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../support/cli';

/** Exit 2, one stderr line naming what to fix. */
function assertBadInput(r: { code: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
}

test('cli bench fidelity: an unknown method, a bad seed, a clip filter that matches nothing exit 2 with one line', async () => {
  assertBadInput(
    await runCli(['bench', 'fidelity', '--methods', 'product,ebsynth', '--no-progress']),
    /--methods .*product, raw, flow, dis, landmark.*ebsynth/,
  );
  assertBadInput(await runCli(['bench', 'fidelity', '--seed', '-1', '--no-progress']), /--seed must be a whole number/);
  assertBadInput(
    await runCli(['bench', 'fidelity', '--clips', 'no-such-clip', '--no-look', '--no-progress']),
    /No clip matches --clips no-such-clip/,
  );
});
