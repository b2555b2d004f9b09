import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type CorrespondenceCheck,
  CorrespondenceModel,
  type CorrespondenceInputs,
  createFlow,
  createFrame,
  exportOnnx,
  frameToModelInput,
  InputError,
  type ProgressEvent,
  runTrainerCommand,
  toWorkingSize,
  trainCorrespondence,
} from '@streamedit/pipeline';

// End to end through the real trainer (PyTorch in a child process) on a tiny synthetic clip: training reports
// progress and checks with scores, the checkpoint exports to ONNX, and onnxruntime-node reproduces PyTorch.

const [N, SIZE, C, GRID] = [6, 64, 8, 8];
let root = '';
let dataDir = '';

function random(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / (1 << 24)) * (hi - lo);
  }
  return out;
}

/** A smooth colour texture (bilinear upsampling of a random 12×12 grid) seen through a window that drifts
 * (0.7 t, 0.3 t) pixels in frame t: sub-pixel motion with a known answer, smooth enough for Horn-Schunck. */
function tinyFrames(): Uint8Array {
  const grid = random(12 * 12 * 3, 7);
  const texel = (x: number, y: number, c: number): number => {
    const gx = Math.min(Math.max(x / 6 - 0.5, 0), 11);
    const gy = Math.min(Math.max(y / 6 - 0.5, 0), 11);
    const [x0, y0] = [Math.floor(gx), Math.floor(gy)];
    const [x1, y1] = [Math.min(x0 + 1, 11), Math.min(y0 + 1, 11)];
    const [ax, ay] = [gx - x0, gy - y0];
    const at = (xx: number, yy: number): number => grid[(yy * 12 + xx) * 3 + c]!;
    return (at(x0, y0) * (1 - ax) + at(x1, y0) * ax) * (1 - ay) + (at(x0, y1) * (1 - ax) + at(x1, y1) * ax) * ay;
  };
  const frames = new Uint8Array(N * SIZE * SIZE * 3);
  for (let t = 0; t < N; t++) {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        for (let c = 0; c < 3; c++)
          frames[((t * SIZE + y) * SIZE + x) * 3 + c] = Math.round(255 * texel(x + 0.7 * t, y + 0.3 * t, c));
      }
    }
  }
  return frames;
}

/** The trainer's data directory (io_spec.py) for the tiny clip, with random unit features. */
async function writeTinyClip(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const feats = random(N * C * GRID * GRID, 11, -1, 1);
  for (let p = 0; p < N * GRID * GRID; p++) {
    const [t, i] = [Math.floor(p / (GRID * GRID)), p % (GRID * GRID)];
    let norm = 0;
    for (let c = 0; c < C; c++) norm += feats[(t * C + c) * GRID * GRID + i]! ** 2;
    for (let c = 0; c < C; c++) feats[(t * C + c) * GRID * GRID + i]! /= Math.sqrt(norm);
  }
  await writeFile(join(dir, 'frames.u8'), tinyFrames());
  await writeFile(
    join(dir, 'frames.json'),
    JSON.stringify({ count: N, width: SIZE, height: SIZE, fps: { num: 25, den: 1 } }),
  );
  await writeFile(join(dir, 'features.f32'), feats);
  await writeFile(
    join(dir, 'features.json'),
    JSON.stringify({ count: N, channels: C, width: GRID, height: GRID, backbone: 'synthetic' }),
  );
  await writeFile(
    join(dir, 'references.json'),
    JSON.stringify({ references: [0], frameReference: new Array(N).fill(0) }),
  );
  await writeFile(join(dir, 'init_flow.f16'), new Uint8Array(N * 2 * SIZE * SIZE * 2)); // float16 zeros
  await writeFile(join(dir, 'init_flow.json'), JSON.stringify({ width: SIZE, height: SIZE }));
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ppce-model-'));
  dataDir = join(root, 'data');
  await writeTinyClip(dataDir);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let checkpoint = '';

test('correspondence: tiny training driven from TypeScript reports progress and checks with scores', async () => {
  const progress: ProgressEvent[] = [];
  const checks: CorrespondenceCheck[] = [];
  const result = await trainCorrespondence(
    { dataDir, outDir: join(root, 'train'), preset: 'tiny', maxIterations: 6, checkEvery: 3 },
    (e) => progress.push(e),
    (c) => void checks.push(c),
  );
  assert.equal(result.iteration, 6);
  assert.equal(result.stopped, false);
  assert.ok(existsSync(result.checkpoint) && existsSync(`${result.checkpoint}.sha256`));
  assert.deepEqual(
    progress.map((p) => p.done),
    [1, 2, 3, 4, 5, 6],
  );
  assert.ok(progress.every((p) => p.stage === 'correspondence' && p.total === 6 && Number.isFinite(p.info?.loss)));
  assert.deepEqual(
    checks.map((c) => c.iteration),
    [3, 6],
  );
  for (const check of checks) {
    assert.equal(check.frames.length, N);
    assert.ok(
      check.frames.every(
        (f) => f.reference === 0 && f.meanSigma > 0 && f.uncertainFraction >= 0 && f.uncertainFraction <= 1,
      ),
    );
  }
  checkpoint = result.checkpoint;
});

/** |a − b| per element, sorted. */
function sortedDiffs(a: Float32Array, b: Float32Array): Float32Array {
  assert.equal(a.length, b.length);
  return Float32Array.from(a, (v, i) => Math.abs(v - b[i]!)).sort();
}

/** Runs the exported graph in onnxruntime-node and the checkpoint in PyTorch (`forward`) on the same inputs. */
async function bothRuntimes(
  onnx: string,
  inputs: CorrespondenceInputs,
  hs: string[],
): Promise<Record<'flow' | 'log_sigma', [Float32Array, Float32Array]>> {
  const model = await CorrespondenceModel.load(onnx, 1);
  try {
    assert.deepEqual(model.shape, { width: SIZE, height: SIZE, featChannels: C, featWidth: GRID, featHeight: GRID });
    const ours = await model.predict(inputs);
    assert.ok(Math.abs(ours.sigma.data[0]! - Math.exp(ours.logSigma[0]!)) < 1e-6);
    const inDir = join(root, 'inputs');
    await mkdir(inDir, { recursive: true });
    const names = {
      ref_image: inputs.refImage,
      cur_image: inputs.curImage,
      ref_feat: inputs.refFeat,
      cur_feat: inputs.curFeat,
      init_flow: inputs.initFlow,
    };
    for (const [name, data] of Object.entries(names)) await writeFile(join(inDir, `${name}.f32`), data);
    await runTrainerCommand([
      'forward',
      '--checkpoint',
      checkpoint,
      '--inputs',
      inDir,
      '--out',
      join(root, 'torch'),
      ...hs,
    ]);
    const read = async (name: string) => {
      const buf = await readFile(join(root, 'torch', `${name}.f32`));
      return new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    };
    return { flow: [ours.flow.data, await read('flow')], log_sigma: [ours.logSigma, await read('log_sigma')] };
  } finally {
    await model.release();
  }
}

test('correspondence: the ONNX export run by onnxruntime-node matches PyTorch', async () => {
  assert.ok(checkpoint, 'needs the checkpoint of the training test');
  const clip = tinyFrames();
  const frame = (t: number) => createFrame(SIZE, SIZE, clip.subarray(t * SIZE * SIZE * 3, (t + 1) * SIZE * SIZE * 3));
  const inputs: CorrespondenceInputs = {
    refImage: frameToModelInput(frame(0), SIZE, SIZE),
    curImage: frameToModelInput(frame(3), SIZE, SIZE),
    refFeat: random(C * GRID * GRID, 3, -0.5, 0.5),
    curFeat: random(C * GRID * GRID, 4, -0.5, 0.5),
    initFlow: random(2 * SIZE * SIZE, 5, -2, 2),
  };
  // Every learned op and warp, without the iterative Horn-Schunck stage: equal within 1e-3 everywhere.
  const plain = join(root, 'plain.onnx');
  await exportOnnx(checkpoint, plain, undefined, { hsIterations: [0, 0, 0] });
  for (const [name, [mine, theirs]] of Object.entries(
    await bothRuntimes(plain, inputs, ['--hs-iterations', '0,0,0']),
  )) {
    const d = sortedDiffs(mine, theirs);
    assert.ok(d[d.length - 1]! < 1e-3, `${name}: max difference ${d[d.length - 1]}`);
  }
  // The deployed graph: Horn-Schunck iterates a non-convex fit, so float rounding can move a few pixels a little;
  // nearly every value still agrees within 1e-3 and none by more than a tenth of a pixel.
  const onnx = join(root, 'model.onnx');
  await exportOnnx(checkpoint, onnx);
  const deployed = await bothRuntimes(onnx, inputs, []);
  for (const [name, [mine, theirs]] of Object.entries(deployed)) {
    const d = sortedDiffs(mine, theirs);
    const p99 = d[Math.floor(d.length * 0.99)]!;
    assert.ok(p99 < 1e-3 && d[d.length - 1]! < 0.1, `${name}: 99th percentile ${p99}, max ${d[d.length - 1]}`);
  }
  const flow = createFlow(SIZE, SIZE, deployed.flow[0]);
  const up = toWorkingSize(
    flow,
    { width: SIZE, height: SIZE, data: new Float32Array(SIZE * SIZE) },
    SIZE * 2,
    SIZE * 2,
  );
  assert.equal(up.flow.width, SIZE * 2);
  assert.equal(up.sigma.data.length, SIZE * SIZE * 4);
});

test('correspondence: aborting kills the trainer, and a broken data directory is an InputError', async () => {
  const controller = new AbortController();
  const started = Date.now();
  await assert.rejects(
    trainCorrespondence(
      { dataDir, outDir: join(root, 'abort'), preset: 'tiny', maxIterations: 100000, signal: controller.signal },
      () => controller.abort(),
    ),
    (e: unknown) => (e as Error).name === 'AbortError',
  );
  assert.ok(Date.now() - started < 60_000);
  await assert.rejects(
    trainCorrespondence({ dataDir: join(root, 'missing'), outDir: join(root, 'x'), preset: 'tiny' }),
    (e: unknown) => e instanceof InputError && /frames\.json/.test((e as Error).message),
  );
});
