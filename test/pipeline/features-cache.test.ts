import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FEATURES_DATA,
  FEATURES_META,
  FeatureCache,
  FeatureCacheError,
  ModelStore,
  type ProgressEvent,
  type RgbFrame,
  XFeatBackbone,
  REPO_ROOT,
  settings,
  writeFeatureCache,
} from '@streamedit/pipeline';

const CLIP = resolve(REPO_ROOT, '../shared/data/videos/lp_d9_selfie_glasses_blinks_512x480.mp4');
const W = 512;
const H = 480;

/** Streams the first `n` frames of CLIP from a real ffmpeg process, one RgbFrame at a time. */
async function* streamFrames(n: number): AsyncGenerator<RgbFrame> {
  const ff = spawn(
    settings().ffmpegPath,
    ['-v', 'error', '-i', CLIP, '-frames:v', String(n), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const size = W * H * 3;
  let pending = Buffer.alloc(0);
  try {
    for await (const chunk of ff.stdout as AsyncIterable<Buffer>) {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= size) {
        yield { width: W, height: H, data: new Uint8Array(pending.subarray(0, size)) };
        pending = pending.subarray(size);
      }
    }
  } finally {
    ff.kill();
  }
}

let xfeat: XFeatBackbone;
let work: string;
before(async () => {
  xfeat = await XFeatBackbone.load(new ModelStore());
  work = mkdtempSync(join(tmpdir(), 'streamedit-features-'));
});
after(async () => {
  await xfeat.release();
  rmSync(work, { recursive: true, force: true });
});

test('feature cache: streamed frames → [N,C,h,w] float32 + features.json, read back per frame', async () => {
  const dir = join(work, 'video-a');
  const events: ProgressEvent[] = [];
  const info = await writeFeatureCache(dir, streamFrames(4), xfeat, (e) => events.push(e), 4);
  assert.deepEqual(info, {
    count: 4,
    channels: 64,
    width: 32,
    height: 32,
    backbone: 'xfeat_256x256',
    modelSha256: xfeat.modelSha256,
  });
  assert.deepEqual(JSON.parse(readFileSync(join(dir, FEATURES_META), 'utf8')), info);
  assert.equal(statSync(join(dir, FEATURES_DATA)).size, 4 * 64 * 32 * 32 * 4);
  assert.deepEqual(readdirSync(dir).sort(), [FEATURES_DATA, FEATURES_META], 'no temp files left');
  assert.deepEqual(
    events.map((e) => [e.stage, e.done, e.total]),
    [1, 2, 3, 4].map((d) => ['features', d, 4]),
  );

  const cache = await FeatureCache.open(dir);
  try {
    assert.ok(cache.matches(xfeat));
    assert.ok(!cache.matches({ name: xfeat.name, modelSha256: '0'.repeat(64) }), 'other weights: recompute');
    let i = 0;
    for await (const frame of streamFrames(4))
      assert.deepEqual(await cache.read(i++), await xfeat.extract(frame), `frame ${i - 1}`);
    const f0 = await cache.read(0);
    const f3 = await cache.read(3);
    assert.notDeepEqual(f0.data, f3.data, 'frames differ, so the offsets matter');
    await assert.rejects(cache.read(4), RangeError);
  } finally {
    await cache.close();
  }
});

test('feature cache: the Python trainer reads it with numpy.memmap (the contract)', async () => {
  const dir = join(work, 'video-b');
  await writeFeatureCache(dir, streamFrames(3), xfeat);
  const script = [
    'import json, sys, numpy as np',
    'd = sys.argv[1]',
    'm = json.load(open(d + "/features.json"))',
    'f = np.memmap(d + "/features.f32", dtype="<f4", mode="r", shape=(m["count"], m["channels"], m["height"], m["width"]))',
    'print(json.dumps({"shape": list(f.shape), "v": float(f[2, 5, 7, 9]), "norm": float(np.linalg.norm(f[1, :, 3, 4])), "sum": float(f[2].astype(np.float64).sum())}))',
  ].join('\n');
  const py = spawnSync(settings().pythonBin, ['-c', script, dir], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  const got = JSON.parse(py.stdout) as { shape: number[]; v: number; norm: number; sum: number };
  const cache = await FeatureCache.open(dir);
  try {
    const f2 = await cache.read(2);
    assert.deepEqual(got.shape, [3, 64, 32, 32]);
    assert.equal(got.v, f2.data[5 * 1024 + 7 * 32 + 9]);
    assert.ok(Math.abs(got.norm - 1) < 1e-4, `unit descriptors as seen from numpy: ${got.norm}`);
    assert.ok(Math.abs(got.sum - f2.data.reduce((s, v) => s + v, 0)) < 1e-3);
  } finally {
    await cache.close();
  }
});

test('feature cache: an interrupted or damaged cache is never taken for a complete one', async () => {
  const dir = join(work, 'video-c');
  await writeFeatureCache(dir, streamFrames(2), xfeat);
  async function* failing(): AsyncGenerator<RgbFrame> {
    yield* streamFrames(1);
    throw new Error('decoder died');
  }
  await assert.rejects(writeFeatureCache(dir, failing(), xfeat), /decoder died/);
  assert.ok(!existsSync(join(dir, FEATURES_META)), 'the old metadata was removed before rewriting');
  assert.deepEqual(readdirSync(dir), [FEATURES_DATA], 'no temp file left');
  await assert.rejects(
    FeatureCache.open(dir),
    (e: unknown) => e instanceof FeatureCacheError && /features\.json is missing/.test(e.message),
  );

  await writeFeatureCache(dir, streamFrames(2), xfeat);
  truncateSync(join(dir, FEATURES_DATA), 64 * 32 * 32 * 4 + 8);
  await assert.rejects(
    FeatureCache.open(dir),
    (e: unknown) => e instanceof FeatureCacheError && /262152 bytes, expected 524288/.test(e.message),
  );
  await assert.rejects(writeFeatureCache(join(work, 'video-d'), [], xfeat), /no frames/);
});
