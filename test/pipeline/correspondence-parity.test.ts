import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  backwardWarpPlanar,
  createFlow,
  modelSize,
  REPO_ROOT,
  resizeAreaPlanar,
  resizeFlow,
  runTrainerCommand,
} from '@streamedit/pipeline';
import { python } from '../support/tools';

// The trainer (PyTorch) and TypeScript must sample images identically, or a model trained in Python would be
// applied differently in production: each case runs the same data through both and compares.

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ppce-parity-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic pseudo-random floats in [lo, hi). */
function random(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / (1 << 24)) * (hi - lo);
  }
  return out;
}

async function torchOp(name: string, args: string[], inputs: Record<string, Float32Array>): Promise<Float32Array> {
  for (const [key, value] of Object.entries(inputs)) await writeFile(join(dir, `${name}-${key}.f32`), value);
  const out = join(dir, `${name}-out.f32`);
  const files = Object.keys(inputs).flatMap((key) => [`--${key}`, join(dir, `${name}-${key}.f32`)]);
  await runTrainerCommand(['parity', ...args, ...files, '--out', out]);
  const buf = await readFile(out);
  return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('correspondence parity: torch grid_sample(border, align_corners=False) equals backwardWarpPlanar', async () => {
  const [w, h, c] = [37, 23, 3];
  const src = random(c * w * h, 1);
  // displacements up to ±12 px, so many samples fall outside the image and exercise the border clamp
  const flow = createFlow(w, h, random(2 * w * h, 2, -12, 12));
  const mine = backwardWarpPlanar(src, c, flow);
  const theirs = await torchOp(
    'warp',
    ['--op', 'warp', '--channels', String(c), '--width', String(w), '--height', String(h)],
    { src, flow: flow.data },
  );
  assert.ok(maxAbsDiff(mine, theirs) < 1e-4, `max difference ${maxAbsDiff(mine, theirs)}`);
});

test('correspondence parity: area resize equals torch adaptive average pooling, also for non-integer ratios', async () => {
  for (const [w, h, ow, oh] of [
    [40, 30, 20, 15],
    [30, 30, 16, 16],
  ] as const) {
    const src = random(3 * w * h, w + h);
    const mine = resizeAreaPlanar(src, 3, w, h, ow, oh);
    const args = [
      '--op',
      'area',
      '--channels',
      '3',
      '--width',
      String(w),
      '--height',
      String(h),
      '--out-width',
      String(ow),
      '--out-height',
      String(oh),
    ];
    const theirs = await torchOp(`area${w}`, args, { src });
    assert.ok(maxAbsDiff(mine, theirs) < 1e-5, `${w}×${h}→${ow}×${oh}: ${maxAbsDiff(mine, theirs)}`);
  }
});

test('correspondence parity: resizeFlow equals the trainer resize_flow (model → working size)', async () => {
  const [w, h, ow, oh] = [16, 15, 32, 30];
  const flow = createFlow(w, h, random(2 * w * h, 5, -3, 3));
  const mine = resizeFlow(flow, ow, oh).data;
  const args = [
    '--op',
    'resize-flow',
    '--width',
    String(w),
    '--height',
    String(h),
    '--out-width',
    String(ow),
    '--out-height',
    String(oh),
  ];
  const theirs = await torchOp('flow', args, { src: flow.data });
  assert.ok(maxAbsDiff(mine, theirs) < 1e-4, `max difference ${maxAbsDiff(mine, theirs)}`);
});

test('correspondence parity: the model resolution for a working size (io_spec.model_size) equals modelSize', async () => {
  // The trainer sizes the model from the frames it is given, fit.ts sizes the landmark init flows: they must agree.
  const cases: Array<[number, number, number]> = [];
  for (const side of [64, 256, 512]) {
    for (const [w, h] of [
      [512, 512],
      [480, 480],
      [512, 480],
      [512, 288],
      [720, 405],
      [1280, 720],
      [405, 720],
      [333, 187],
    ]) {
      cases.push([w!, h!, side]);
    }
  }
  const code = `import json, sys
sys.path.insert(0, ${JSON.stringify(join(REPO_ROOT, 'python'))})
from streamedit_trainer.io_spec import model_size
print(json.dumps([list(model_size(w, h, s)) for w, h, s in json.loads(sys.argv[1])]))`;
  const theirs = JSON.parse(await python(code, [JSON.stringify(cases)])) as number[][];
  const mine = cases.map(([w, h, side]) => {
    const m = modelSize(w, h, side);
    return [m.width, m.height];
  });
  assert.deepEqual(mine, theirs);
  assert.deepEqual(modelSize(1280, 720, 512), { width: 512, height: 288 });
});
