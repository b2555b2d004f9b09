#!/usr/bin/env node
// The one test command: builds, runs every TypeScript test (node:test, compiled to dist/) and the Python suite,
// then prints the real totals as `N passed, N failed`. Extra args are substrings that select test files.
// `--suite=faults` (npm run test:faults) runs the slow fault and load suite instead: files named *.fault.ts.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';

const root = new URL('..', import.meta.url).pathname;
const suite = process.argv.find((a) => a.startsWith('--suite='))?.slice('--suite='.length) ?? 'unit';
const filters = process.argv.slice(2).filter((a) => !a.startsWith('--suite='));
const SUFFIX = suite === 'faults' ? '.fault.js' : '.test.js';
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });

if (run('npm', ['run', '-s', 'build']).status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(SUFFIX)) out.push(p);
  }
  return out;
}
const files = walk(join(root, 'dist/test'))
  .filter((f) => filters.length === 0 || filters.some((s) => relative(root, f).includes(s)))
  .sort();

let passed = 0;
let failed = 0;
if (files.length > 0) {
  const counts = join(tmpdir(), `streamedit-test-counts-${process.pid}.json`);
  const r = run(process.execPath, [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/count-reporter.mjs')}`,
    `--test-reporter-destination=${counts}`,
    ...files,
  ]);
  try {
    const c = JSON.parse(readFileSync(counts, 'utf8'));
    passed += c.passed;
    failed += c.failed;
    rmSync(counts);
  } catch {
    failed += 1;
  }
  if (r.status !== 0 && failed === 0) failed += 1;
}

const pyFilter =
  suite !== 'faults' && (filters.length === 0 || filters.some((s) => 'python'.includes(s) || s.startsWith('python')));
if (pyFilter) {
  const python = process.env.STREAMEDIT_PYTHON || '/usr/bin/python3';
  const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', 'python/tests', '-t', 'python', '-v'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: join(root, 'python'), OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  process.stdout.write(r.stdout ?? '');
  process.stdout.write(r.stderr ?? '');
  const out = `${r.stdout}${r.stderr}`;
  const ran = Number(/Ran (\d+) tests?/.exec(out)?.[1] ?? 0);
  const m = /FAILED \((?:failures=(\d+))?(?:, )?(?:errors=(\d+))?/.exec(out);
  const bad = m ? Number(m[1] ?? 0) + Number(m[2] ?? 0) : r.status === 0 ? 0 : 1;
  passed += Math.max(0, ran - bad);
  failed += bad;
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
