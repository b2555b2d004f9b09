import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { KnownMotionClip, benchmarkFidelityClip, decodeFrames, type RgbFrame } from '@streamedit/pipeline';
import { clipPath } from '../support/clips';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Frame 0 of a real clip at 160×160 (DIS needs real texture: a periodic pattern would alias). */
async function still(size = 160): Promise<RgbFrame> {
  for await (const f of decodeFrames(clipPath('may'), { count: 1, maxSide: size })) return f;
  throw new Error('no frame');
}

test('a clip through the bench: written once (H.264), the true-motion ceiling and DIS scored, DIS tracks the dots', async () => {
  const workDir = await mkdtemp(join(tmpdir(), 'streamedit-fidelity-'));
  dirs.push(workDir);
  const clip = new KnownMotionClip({
    name: 'tiny',
    still: await still(),
    face: { cx: 80, cy: 72, width: 62, height: 80 },
    frames: 10,
    seed: 4,
  });
  const sheet = join(workDir, 'sheet.png');
  const r = await benchmarkFidelityClip(clip, { workDir, methods: ['dis'], sheet });
  assert.deepEqual(
    r.methods.map((m) => m.method),
    ['ceiling', 'dis'],
  );
  const [ceiling, dis] = r.methods;
  // The ceiling is the keyframe moved by the true flow: only bilinear-vs-bicubic and the encoder separate it from GT.
  assert.ok(ceiling!.regionPsnrRaw > 28, `ceiling before the encoder ${ceiling!.regionPsnrRaw}`);
  assert.ok(ceiling!.regionPsnr <= ceiling!.regionPsnrRaw + 0.5, 'the encoder does not add fidelity');
  assert.ok(ceiling!.driftP95 < 0.75, `ceiling drift p95 ${ceiling!.driftP95}`);
  // DIS's flow enters with the product's convention (frame t samples frame 0 at x + flow): its dots stay close.
  assert.ok(dis!.driftMedian < 1.5, `DIS drift median ${dis!.driftMedian}`);
  assert.ok(dis!.regionPsnr < ceiling!.regionPsnr + 0.5);
  assert.ok(dis!.reconPsnr > 25, `DIS reconstruction ${dis!.reconPsnr}`);
  assert.equal(dis!.sigmaAuroc, undefined, 'DIS has no σ to calibrate');
  assert.ok(r.editedFraction > 0.02);
  assert.ok((await stat(sheet)).size > 1000);
  // A rerun reuses the clip video rather than generating it again.
  const before = (await stat(join(workDir, 'clip.mp4'))).mtimeMs;
  await benchmarkFidelityClip(clip, { workDir, methods: ['dis'] });
  assert.equal((await stat(join(workDir, 'clip.mp4'))).mtimeMs, before);
});

test('a clip whose source is larger than the working size is scored at the source size: landmark warp lifted, DIS at full size', async () => {
  const workDir = await mkdtemp(join(tmpdir(), 'streamedit-fidelity-'));
  dirs.push(workDir);
  const clip = new KnownMotionClip({
    name: 'tiny-2x',
    still: await still(320),
    face: { cx: 160, cy: 144, width: 124, height: 160 },
    frames: 8,
    seed: 4,
    work: { width: 160, height: 160 },
  });
  const r = await benchmarkFidelityClip(clip, { workDir, methods: ['dis', 'landmark'] });
  assert.deepEqual([r.scoredWidth, r.scoredHeight, r.width], [320, 320, 160]);
  const [ceiling, dis, landmark] = r.methods;
  assert.ok(ceiling!.regionPsnrRaw > 28, `ceiling before the encoder ${ceiling!.regionPsnrRaw}`);
  // Drift in source px: the true motion's dots stay within a pixel, DIS (full-size frames) close to them.
  assert.ok(ceiling!.driftP95 < 1, `ceiling drift p95 ${ceiling!.driftP95}`);
  assert.ok(dis!.driftMedian < 2.5, `DIS drift median ${dis!.driftMedian}`);
  // The landmark warp ran at 160² and its render was lifted to 320² as `edit` does.
  assert.ok(
    landmark!.regionPsnr < ceiling!.regionPsnr && landmark!.regionPsnr > 10,
    `landmark ${landmark!.regionPsnr}`,
  );
  const out: RgbFrame[] = [];
  for await (const f of decodeFrames(join(workDir, 'out-landmark.mp4'), { maxSide: 4096 })) out.push(f);
  assert.deepEqual([out.length, out[0]!.width, out[0]!.height], [8, 320, 320]);
  // The same clip scored at working size: another grid, the same clip video and analysis reused.
  const w = await benchmarkFidelityClip(clip, { workDir, methods: ['dis'], scoreAt: 'working' });
  assert.deepEqual([w.scoredWidth, w.scoredHeight], [160, 160]);
  assert.notEqual(w.methods[0]!.regionPsnr, ceiling!.regionPsnr);
});
