import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type FeatureMap,
  ModelNotFoundError,
  ModelStore,
  type RgbFrame,
  XFeatBackbone,
  chooseBackbone,
  createBackbone,
  dinov2InputSize,
  IMAGENET_NORM,
  loadSettings,
  resizeToPlanar,
  REPO_ROOT,
  settings,
} from '@streamedit/pipeline';

/** The shared real clips beside the checkout (never copied into the repository). */
const CLIPS = resolve(REPO_ROOT, '../shared/data/videos');

/** The first `n` frames of a clip, decoded by the real ffmpeg (size from ffprobe). */
function decodeFrames(clip: string, n: number): RgbFrame[] {
  const probe = spawnSync(
    settings().ffprobePath,
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', clip],
    { encoding: 'utf8' },
  );
  const [width, height] = probe.stdout.trim().split(',').map(Number) as [number, number];
  const r = spawnSync(
    settings().ffmpegPath,
    ['-v', 'error', '-i', clip, '-frames:v', String(n), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 1 << 28 },
  );
  const size = width * height * 3;
  assert.equal(r.stdout.length, n * size, `ffmpeg decoded ${n} frames of ${width}×${height}`);
  return Array.from({ length: n }, (_, i) => ({
    width,
    height,
    data: new Uint8Array(r.stdout.subarray(i * size, (i + 1) * size)),
  }));
}

/** A copy of `f` moved by (dx, dy) pixels, edges replicated: a motion whose true correspondence is known. */
function translate(f: RgbFrame, dx: number, dy: number): RgbFrame {
  const out = new Uint8Array(f.data.length);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const sx = Math.min(Math.max(x - dx, 0), f.width - 1);
      const sy = Math.min(Math.max(y - dy, 0), f.height - 1);
      out.set(f.data.subarray((sy * f.width + sx) * 3, (sy * f.width + sx) * 3 + 3), (y * f.width + x) * 3);
    }
  }
  return { width: f.width, height: f.height, data: out };
}

/** Mutual nearest neighbours by cosine (features are unit vectors): pairs [x0, y0, x1, y1] of grid cells. */
function mutualMatches(a: FeatureMap, b: FeatureMap): Array<[number, number, number, number]> {
  const hw = a.width * a.height;
  const sim = new Float32Array(hw * hw);
  for (let c = 0; c < a.channels; c++) {
    for (let i = 0; i < hw; i++) {
      const v = a.data[c * hw + i]!;
      for (let j = 0; j < hw; j++) sim[i * hw + j]! += v * b.data[c * hw + j]!;
    }
  }
  const argmax = (at: (k: number) => number): number => {
    let best = 0;
    for (let k = 1; k < hw; k++) if (at(k) > at(best)) best = k;
    return best;
  };
  const out: Array<[number, number, number, number]> = [];
  for (let i = 0; i < hw; i++) {
    const j = argmax((k) => sim[i * hw + k]!);
    if (argmax((k) => sim[k * hw + j]!) === i)
      out.push([i % a.width, Math.floor(i / a.width), j % b.width, Math.floor(j / b.width)]);
  }
  return out;
}

/** Share of matches whose displacement is (ex, ey) cells within one cell. */
function shareNear(matches: Array<[number, number, number, number]>, ex: number, ey: number): number {
  return (
    matches.filter(([x0, y0, x1, y1]) => Math.abs(x1 - x0 - ex) <= 1 && Math.abs(y1 - y0 - ey) <= 1).length /
    matches.length
  );
}

let xfeat: XFeatBackbone;
let may: RgbFrame[];

before(async () => {
  xfeat = await XFeatBackbone.load(new ModelStore());
  may = decodeFrames(`${CLIPS}/may_theresa_5s_512.mp4`, 2);
});
after(() => xfeat.release());

test('resizeToPlanar: planar [3,h,w], pixel-centre bilinear, normalisation applied', () => {
  // 4×2 frame, R = 0,40,80,120 across, G = 200 on row 1, B = 255 everywhere.
  const data = new Uint8Array(4 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 4; x++) data.set([40 * x, 200 * y, 255], (y * 4 + x) * 3);
  const same = resizeToPlanar({ width: 4, height: 2, data }, 4, 2);
  assert.deepEqual(Array.from(same.subarray(0, 4)), [0, 40 / 255, 80 / 255, 120 / 255].map(Math.fround));
  const half = resizeToPlanar({ width: 4, height: 2, data }, 2, 1);
  // 2× down = mean of each 2×2 block: R (0+40)/2, (80+120)/2; G (0+200)/2; B 1.
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-6, `${a} ≈ ${b}`);
  [20 / 255, 100 / 255, 100 / 255, 100 / 255, 1, 1].forEach((v, i) => close(half[i]!, v));
  const net = resizeToPlanar({ width: 4, height: 2, data }, 4, 2, IMAGENET_NORM);
  close(net[2 * 8]!, (1 - 0.406) / 0.225);
});

test('XFeat: 64-d unit descriptors on a 32×32 grid for any frame size, deterministic', async () => {
  const a = await xfeat.extract(may[0]!);
  assert.deepEqual([a.channels, a.height, a.width, a.data.length], [64, 32, 32, 64 * 32 * 32]);
  for (let i = 0; i < 1024; i++) {
    let n = 0;
    for (let c = 0; c < 64; c++) n += a.data[c * 1024 + i]! ** 2;
    assert.ok(Math.abs(n - 1) < 1e-4, `location ${i} has norm² ${n}`);
  }
  assert.deepEqual(await xfeat.extract(may[0]!), a, 'same frame, same features');
  const [wide] = decodeFrames(`${CLIPS}/lp_d9_selfie_glasses_blinks_512x480.mp4`, 1);
  const b = await xfeat.extract(wide!);
  assert.deepEqual([wide!.width, wide!.height, b.width, b.height], [512, 480, 32, 32]);
  assert.equal(xfeat.name, 'xfeat_256x256');
  assert.equal(xfeat.modelSha256, '9b4292da0e6bdc8c3e87ae2b528ebad3dfbc9afdef696b95b22b4d21503bb5fe');
});

test('XFeat: the same face point in consecutive frames matches itself far above chance', async () => {
  const [f0, f1] = await Promise.all(may.map((f) => xfeat.extract(f)));
  const matches = mutualMatches(f0!, f1!);
  // The head barely moves between frames 0 and 1: matches stay within one cell (chance: 9 of 1024 cells, < 1%).
  assert.ok(matches.length > 512, `${matches.length} mutual matches`);
  assert.ok(shareNear(matches, 0, 0) > 0.8, `share within one cell: ${shareNear(matches, 0, 0)}`);
  // Same location is far more similar than a random other location.
  let same = 0;
  let other = 0;
  for (let i = 0; i < 1024; i++) {
    const j = (i * 389 + 101) % 1024;
    for (let c = 0; c < 64; c++) {
      same += f0!.data[c * 1024 + i]! * f1!.data[c * 1024 + i]!;
      other += f0!.data[c * 1024 + i]! * f1!.data[c * 1024 + j]!;
    }
  }
  assert.ok(same / 1024 > 0.9 && other / 1024 < 0.7, `mean cosine same ${same / 1024}, other ${other / 1024}`);
});

test('XFeat: a known motion (frame 1 moved 2 cells right, 1 down) is recovered by the matches', async () => {
  // 512-px frame → 32 cells of 16 px: (32, 16) px = (2, 1) cells. Wrong input layout or channels fail this (~1%).
  const f0 = await xfeat.extract(may[0]!);
  const moved = await xfeat.extract(translate(may[1]!, 32, 16));
  const matches = mutualMatches(f0, moved);
  assert.ok(matches.length > 512, `${matches.length} mutual matches`);
  assert.ok(shareNear(matches, 2, 1) > 0.85, `share at the true displacement: ${shareNear(matches, 2, 1)}`);
});

test('DINOv2 input: resized to multiples of the 14-px patch, aspect kept within half a patch', () => {
  assert.deepEqual(dinov2InputSize(512, 512), { width: 448, height: 448 });
  assert.deepEqual(dinov2InputSize(512, 480), { width: 448, height: 420 });
  assert.deepEqual(dinov2InputSize(1920, 1080), { width: 448, height: 252 });
  assert.deepEqual(dinov2InputSize(300, 40, 224), { width: 224, height: 28 });
  assert.deepEqual(dinov2InputSize(1000, 10), { width: 448, height: 14 }, 'at least one patch');
  for (const [w, h] of [
    [640, 360],
    [333, 517],
    [97, 61],
  ] as const) {
    const s = dinov2InputSize(w, h);
    assert.equal(s.width % 14, 0);
    assert.equal(s.height % 14, 0);
    assert.ok(Math.abs(s.width / s.height - w / h) * s.height <= 7 + 1e-9, `${w}×${h} → ${s.width}×${s.height}`);
  }
});

test('backbone choice: without STREAMEDIT_DINOV2 it falls back to XFeat and says which model', async () => {
  const choice = chooseBackbone(undefined);
  assert.equal(choice.kind, 'xfeat');
  assert.match(
    choice.message,
    /DINOv2 is not configured \(STREAMEDIT_DINOV2 is unset\), falling back to XFeat \(xfeat_256x256\.onnx/,
  );
  assert.equal(chooseBackbone('', 'xfeat_320x224').kind, 'xfeat');
  assert.deepEqual(chooseBackbone('/models/dinov2.onnx').kind, 'dinov2');
  const fallback = await createBackbone(new ModelStore({ settings: loadSettings({}) }));
  try {
    assert.deepEqual(
      [fallback.name, fallback.channels, fallback.gridSize(512, 480)],
      ['xfeat_256x256', 64, { width: 32, height: 32 }],
    );
  } finally {
    await fallback.release();
  }
  // A configured but missing DINOv2 is an error naming the setting, not a silent fallback.
  const store = new ModelStore({ settings: loadSettings({ STREAMEDIT_DINOV2: '/nowhere/dinov2_small.onnx' }) });
  await assert.rejects(
    createBackbone(store),
    (e: unknown) => e instanceof ModelNotFoundError && /STREAMEDIT_DINOV2/.test(e.message),
  );
});
