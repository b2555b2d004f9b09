import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  ChromiumLandmarkDetector,
  LANDMARK_COUNT,
  LandmarkTrack,
  LandmarkWarp,
  NOSE_TIP,
  REPO_ROOT,
  type RgbFrame,
  analyzeLandmarks,
  createFrame,
  decodeFrames,
} from '@streamedit/pipeline';

// Real Chromium, real MediaPipe models (through the model store), real clip. One browser for the whole file.
const CLIP = resolve(REPO_ROOT, '../shared/data/videos/may_theresa_5s_512.mp4');
let detector: ChromiumLandmarkDetector;
let frames: RgbFrame[] = [];

before(async () => {
  detector = new ChromiumLandmarkDetector();
  for await (const f of decodeFrames(CLIP, { count: 20 }))
    frames.push(createFrame(f.width, f.height, Uint8Array.from(f.data)));
  await detector.warmUp();
});

after(async () => {
  await detector.close();
  frames = [];
});

const grey = (w: number, h: number) => createFrame(w, h, new Uint8Array(w * h * 3).fill(128));
function noise(w: number, h: number): RgbFrame {
  let seed = 7;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) >>> 23;
  return createFrame(w, h, data);
}

/** Mean of `mask` over pixels where `where` is set (or over a rectangle). */
function meanWhere(mask: Uint8Array, where: (i: number) => boolean): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!where(i)) continue;
    sum += mask[i]!;
    n++;
  }
  return sum / n;
}

test('landmarks: a face on a real clip, 478 points in the frame, the person mask covers the face only', async () => {
  const frame = frames[0]!;
  const { width: w, height: h } = frame;
  const o = await detector.detect(frame);
  assert.equal(o.face, true);
  assert.equal(o.landmarks!.length, 2 * LANDMARK_COUNT);
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    const [x, y] = [o.landmarks![2 * i]!, o.landmarks![2 * i + 1]!];
    assert.ok(x >= -0.5 && x <= w - 0.5 && y >= -0.5 && y <= h - 0.5, `point ${i} (${x}, ${y}) outside the frame`);
  }
  const [nx, ny] = [o.landmarks![2 * NOSE_TIP]!, o.landmarks![2 * NOSE_TIP + 1]!];
  assert.ok(Math.abs(nx - w / 2) < w / 4 && Math.abs(ny - h / 2) < h / 4, `nose tip at (${nx}, ${ny})`);
  assert.ok(o.blendshapes && Object.keys(o.blendshapes).length === 52 && 'jawOpen' in o.blendshapes);
  assert.equal(o.mask.length, w * h);
  // The face hull (the warp's landmark-only triangles) is person; the top corners are background.
  const { inHull } = LandmarkWarp.fromReference(o.landmarks!, w, h).field(o.landmarks!);
  const inFace = meanWhere(o.mask, (i) => inHull[i] === 1);
  const corner = (x0: number) => meanWhere(o.mask, (i) => i % w >= x0 && i % w < x0 + 48 && Math.floor(i / w) < 48);
  assert.ok(inFace > 200, `mask mean in the face ${inFace}`);
  assert.ok(corner(0) < 50 && corner(w - 48) < 50, `mask mean in the top corners ${corner(0)}, ${corner(w - 48)}`);
});

test('landmarks: flat grey and noise frames have no face, and do not throw', async () => {
  for (const frame of [grey(320, 240), noise(256, 256)]) {
    const o = await detector.detect(frame);
    assert.equal(o.face, false);
    assert.equal(o.landmarks, undefined);
    assert.equal(o.mask.length, frame.width * frame.height);
  }
});

test('landmarks: ms per 512² frame over 20 frames (sequential and two in flight)', async () => {
  let started = performance.now();
  for (const f of frames) assert.equal((await detector.detect(f)).face, true);
  const sequential = (performance.now() - started) / frames.length;
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-landmarks-'));
  try {
    started = performance.now();
    const track = await analyzeLandmarks(toAsync(frames), detector, join(dir, 'track'));
    const pipelined = (performance.now() - started) / frames.length;
    assert.equal(track.facesFound, frames.length);
    console.log(
      `landmarks + mask at 512²: ${sequential.toFixed(1)} ms/frame sequential, ${pipelined.toFixed(1)} ms/frame in analyzeLandmarks (2 in flight, incl. writing)`,
    );
    assert.ok(sequential < 1000, `${sequential} ms per frame`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('landmarks: the track directory keeps the trainer contract; no-face frames are marked', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'streamedit-landmarks-'));
  try {
    const [w, h] = [frames[0]!.width, frames[0]!.height];
    const input = [frames[0]!, grey(w, h), frames[5]!];
    const observed = await detector.detect(frames[5]!);
    const progress: number[] = [];
    const track = await analyzeLandmarks(toAsync(input), detector, join(dir, 'track'), (e) => progress.push(e.done));
    assert.deepEqual(progress, [1, 2, 3]);
    assert.equal(statSync(join(dir, 'track/landmarks.f32')).size, 3 * LANDMARK_COUNT * 2 * 4);
    assert.equal(statSync(join(dir, 'track/presence.u8')).size, 3);
    assert.equal(statSync(join(dir, 'track/masks.u8')).size, 3 * w * h);
    assert.deepEqual(readdirSync(dir), ['track'], 'no temporary directory is left');
    const reopened = await LandmarkTrack.open(join(dir, 'track'));
    for (const t of [track, reopened]) {
      assert.deepEqual(
        { count: t.count, width: t.width, height: t.height, faces: t.facesFound, points: t.meta.points },
        { count: 3, width: w, height: h, faces: 2, points: LANDMARK_COUNT },
      );
      assert.deepEqual([...t.presence], [1, 0, 1]);
      assert.equal(t.landmarksAt(1), undefined);
      assert.ok(Number.isNaN(t.landmarks[2 * LANDMARK_COUNT]), 'a frame without a face has NaN landmarks');
      assert.deepEqual(t.meta.arrays.masks.shape, [3, h, w]);
      assert.equal(t.meta.blendshapes[1], null);
      assert.ok(t.blendshapesAt(2)!.jawOpen! >= 0);
    }
    // Deterministic (IMAGE mode): the stored frame equals a detection of the same frame on its own.
    assert.deepEqual(reopened.landmarksAt(2), observed.landmarks);
    assert.deepEqual(await reopened.maskAt(2), observed.mask);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('landmarks: F_Lwarp between two real frames sends current landmarks to their reference positions', async () => {
  const [a, b] = [await detector.detect(frames[0]!), await detector.detect(frames[19]!)];
  const { width: w, height: h } = frames[0]!;
  const { flow } = LandmarkWarp.fromReference(a.landmarks!, w, h).field(b.landmarks!);
  const errors: number[] = [];
  for (let k = 0; k < LANDMARK_COUNT; k++) {
    const [x, y] = [b.landmarks![2 * k]!, b.landmarks![2 * k + 1]!];
    const i = Math.round(y) * w + Math.round(x);
    const [rx, ry] = [Math.round(x) + flow.data[i]!, Math.round(y) + flow.data[w * h + i]!];
    errors.push(Math.hypot(rx - a.landmarks![2 * k]!, ry - a.landmarks![2 * k + 1]!));
  }
  errors.sort((p, q) => p - q);
  // Read at the pixel nearest each landmark, so sub-pixel offsets times the local stretch; the head turns by tens of
  // pixels over these 20 frames, and a few silhouette triangles fold over.
  const p95 = errors[Math.floor(0.95 * errors.length)]!;
  assert.ok(p95 < 1, `95th percentile of landmark errors ${p95} px (worst ${errors[errors.length - 1]})`);
});

test('landmarks: the detector restarts Chromium after it is killed', async () => {
  const before = await detector.detect(frames[3]!);
  const killed = browserPids();
  assert.ok(killed.length > 0, 'a Chromium browser process runs');
  for (const pid of killed) process.kill(pid, 'SIGKILL');
  const again = await detector.detect(frames[3]!);
  assert.equal(again.face, true);
  assert.deepEqual(again.landmarks, before.landmarks);
  const now = browserPids();
  assert.ok(now.length > 0 && now.every((pid) => !killed.includes(pid)), 'a new browser runs');
});

async function* toAsync(list: readonly RgbFrame[]): AsyncGenerator<RgbFrame> {
  yield* list;
}

/** Chromium browser processes (not renderers/GPU helpers) descended from this test process. */
function browserPids(): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const ours = new Set([process.pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) {
      if (ours.has(r.ppid) && !ours.has(r.pid)) {
        ours.add(r.pid);
        grew = true;
      }
    }
  }
  return rows
    .filter(
      (r) =>
        ours.has(r.pid) &&
        r.pid !== process.pid &&
        /chromium/.test(r.args) &&
        !r.args.includes('--type=') &&
        !r.args.startsWith('/bin/sh'),
    )
    .map((r) => r.pid);
}
