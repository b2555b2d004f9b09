import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '@streamedit/pipeline';

// The layer rules of .dependency-cruiser.cjs, checked on the sources by the test suite itself: `npm test` fails on
// a violation. The second test plants one violation of each rule in a copy of the tree and expects all of them.
const DEPCRUISE = join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

/** Runs the check as `npm run lint:deps` does (the `err` reporter: exit status = number of errors). */
function cruise(root: string): { status: number | null; violations: string[]; output: string } {
  const r = spawnSync(
    process.execPath,
    [DEPCRUISE, 'apps', 'libs', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'],
    { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const output = `${r.stdout}${r.stderr}`;
  // `  error rule-name: from → to` (a cycle continues on the next lines).
  const violations = [...output.matchAll(/^\s*error ([\w-]+): (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);
  return { status: r.status, violations, output };
}

test('boundaries: the sources keep every import rule (layers one-way, apps apart, no circles)', () => {
  const { status, violations, output } = cruise(REPO_ROOT);
  assert.deepEqual(violations, [], output);
  assert.equal(status, 0, output);
});

test('boundaries: a planted violation of each rule fails the check, each one named', () => {
  const root = mkdtempSync(join(tmpdir(), 'streamedit-boundaries-'));
  try {
    for (const p of ['apps', 'libs', 'tsconfig.json', '.dependency-cruiser.cjs'])
      cpSync(join(REPO_ROOT, p), join(root, p), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    const plant = (path: string, text: string) =>
      writeFileSync(join(root, path), `${text}\nexport const planted = 1;\n`);
    plant('libs/pipeline/src/planted-queue.ts', "import 'bullmq';");
    plant('libs/pipeline/src/planted-s3.ts', "import '@aws-sdk/client-s3';");
    // Split so tsc-alias does not rewrite the alias inside this string when it compiles the test.
    plant('libs/pipeline/src/planted-up.ts', `import '${['@streamedit', 'farm'].join('/')}';`);
    plant('libs/pipeline/src/job/planted-live.ts', "import '../stream/live-session';");
    plant('libs/farm/src/planted-app.ts', "import '../../../apps/renderer/src/main';");
    plant('apps/cli/src/planted-api.ts', "import '../../api/src/api-app';");
    // The live-session host and the API are separate processes: neither may reach into the other.
    plant('apps/streamer/src/planted-api.ts', "import '../../api/src/streams/streams.controller';");
    plant('apps/api/src/planted-streamer.ts', "import '../../streamer/src/stream-registry';");
    plant('libs/pipeline/src/planted-a.ts', "import './planted-b';");
    plant('libs/pipeline/src/planted-b.ts', "import './planted-a';");

    const { status, violations, output } = cruise(root);
    assert.equal(status, 9, `the check must fail with one error per plant:\n${output}`);
    const found = new Set(violations);
    for (const expected of [
      'pipeline-no-infrastructure libs/pipeline/src/planted-queue.ts',
      'pipeline-no-infrastructure libs/pipeline/src/planted-s3.ts',
      'pipeline-not-above libs/pipeline/src/planted-up.ts',
      'offline-not-live libs/pipeline/src/job/planted-live.ts',
      'farm-not-apps libs/farm/src/planted-app.ts',
      'apps-not-each-other apps/cli/src/planted-api.ts',
      'apps-not-each-other apps/streamer/src/planted-api.ts',
      'apps-not-each-other apps/api/src/planted-streamer.ts',
      'no-circular libs/pipeline/src/planted-a.ts',
    ])
      assert.ok(found.has(expected), `${expected} not reported; got ${[...found].join(', ')}`);
    assert.equal(violations.length, 9, output);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
