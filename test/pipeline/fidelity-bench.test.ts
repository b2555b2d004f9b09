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
async function still(): Promise<RgbFrame> {
  for await (const f of decodeFrames(clipPath('may'), { count: 1, maxSide: 160 })) return f;
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
