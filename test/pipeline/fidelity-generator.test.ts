import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  KnownMotion,
  KnownMotionClip,
  createFrame,
  dotCentroid,
  toRgb,
  bicubicWarp,
  type RgbFrame,
} from '@streamedit/pipeline';

/** A 128×128 still with smooth texture (a portrait-sized face box in the middle), no real footage needed. */
function still(size = 128): RgbFrame {
  const d = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 3;
      d[p] = 150 + 40 * Math.sin(x / 9) * Math.cos(y / 13);
      d[p + 1] = 110 + 30 * Math.cos(x / 7 + y / 11);
      d[p + 2] = 90 + 20 * Math.sin((x + y) / 10);
    }
  return createFrame(size, size, d);
}

const FACE = { cx: 64, cy: 60, width: 70, height: 84 };
const clipOf = (seed: number, mouthOpening = false, frames = 12): KnownMotionClip =>
  new KnownMotionClip({ name: 'test', still: still(), face: FACE, frames, seed, mouthOpening });

test('a tracked point lands where the known motion says (sub-pixel), in the ground truth and in the noisy frame', () => {
  const clip = clipOf(7);
  // A clip whose still already carries the dots: its camera frames (bicubic, noise) show them moving.
  const dotted = new KnownMotionClip({ ...clip.spec, still: clip.keyframe });
  for (const t of [3, 6, 11]) {
    const truth = clip.truth(t).edit;
    const frame = dotted.frame(t);
    let checked = 0;
    clip.dots.forEach((d, k) => {
      const p = clip.dotAt(t, k);
      if (!p) return;
      // M_t sends the tracked position back onto the dot's centre in frame 0.
      const back = clip.motion.map(t, p.x, p.y);
      assert.ok(Math.hypot(back.x - d.x, back.y - d.y) < 1e-3, `M_t(track) = dot ${k}`);
      for (const img of [truth, frame]) {
        const c = dotCentroid(img, d.colour, p, 3 * d.radius + 6);
        assert.ok(c, `dot ${k} found in frame ${t}`);
        const err = Math.hypot(c.x - p.x, c.y - p.y);
        assert.ok(err < 0.5, `dot ${k} of frame ${t} is ${err.toFixed(3)} px from its tracked position`);
        checked++;
      }
    });
    assert.ok(checked >= 8, `${checked} dot positions checked in frame ${t}`);
  }
});

test('the motion has the head-like range the issue asks for, is the identity at frame 0, and varies smoothly', () => {
  const m = new KnownMotion({
    frames: 100,
    width: 512,
    height: 512,
    face: { cx: 256, cy: 240, width: 200, height: 240 },
    seed: 3,
  });
  const poses = Array.from({ length: 100 }, (_, t) => m.headPose(t));
  assert.ok(Math.max(...poses.map((p) => p.rotationDeg)) >= 6, 'rotation reaches +6°');
  assert.ok(Math.min(...poses.map((p) => p.rotationDeg)) <= -6, 'rotation reaches −6°');
  assert.ok(Math.max(...poses.map((p) => Math.abs(p.scale - 1))) <= 0.05 + 1e-9);
  assert.ok(Math.max(...poses.map((p) => Math.abs(p.tx))) <= 15 + 1e-9);
  for (let t = 1; t < 100; t++)
    assert.ok(Math.abs(poses[t]!.rotationDeg - poses[t - 1]!.rotationDeg) < 1, 'smooth in time');
  const id = m.map(0, 100.25, 200.5);
  assert.deepEqual([id.x, id.y, id.valid], [100.25, 200.5, true]);
});

test('a seed gives an identical clip, another seed another one', () => {
  const a = clipOf(11).frame(5);
  const b = clipOf(11).frame(5);
  const c = clipOf(12).frame(5);
  assert.deepEqual(Buffer.from(a.data), Buffer.from(b.data));
  assert.notDeepEqual(Buffer.from(a.data), Buffer.from(c.data));
});

test('the ground-truth edit of frame 0 is the keyframe, and its edited region is where the keyframe differs', () => {
  const clip = clipOf(5, true);
  const t0 = clip.truth(0);
  assert.deepEqual(Buffer.from(t0.edit.data), Buffer.from(clip.keyframe.data));
  assert.deepEqual(Buffer.from(t0.region), Buffer.from(clip.mask0));
  const edited = clip.mask0.reduce((a, b) => a + b, 0);
  assert.ok(edited > 0.03 * clip.mask0.length && edited < 0.5 * clip.mask0.length, `edited fraction ${edited}`);
  // Later frames: the ground truth is the keyframe moved by the same motion as the frame.
  const t = 6;
  const { flow } = clip.motion.flowAt(t);
  assert.deepEqual(
    Buffer.from(clip.truth(t).edit.data),
    Buffer.from(toRgb(128, 128, bicubicWarp(clip.keyframe, flow)).data),
  );
});

test('a mouth that opens reveals pixels without ground truth (valid = 2), none at frame 0', () => {
  const clip = clipOf(5, true, 30);
  const revealed = (t: number): number => clip.truth(t).valid.reduce((a, v) => a + (v === 2 ? 1 : 0), 0);
  assert.equal(revealed(0), 0);
  const most = Math.max(...Array.from({ length: 30 }, (_, t) => revealed(t)));
  assert.ok(most > 10, `the opened mouth shows ${most} px`);
  assert.equal(
    Math.max(
      ...Array.from({ length: 30 }, (_, t) =>
        clipOf(5, false, 30)
          .truth(t)
          .valid.reduce((a, v) => a + (v === 2 ? 1 : 0), 0),
      ),
    ),
    0,
  );
});

test('the source-size view is the same clip: frame 0 truth is the full-size keyframe, dots land where the working view says', () => {
  const clip = new KnownMotionClip({
    name: 'test',
    still: still(256),
    face: { cx: 128, cy: 120, width: 140, height: 168 },
    frames: 12,
    seed: 3,
    work: { width: 128, height: 128 },
  });
  const src = clip.view('source');
  assert.equal(src.width, 256);
  assert.equal(clip.view('working'), clip);
  assert.deepEqual(Buffer.from(clip.truth(0, 'source').edit.data), Buffer.from(src.keyframe.data));
  assert.equal(clip.truth(7, 'source').edit.width, 256);
  for (let k = 0; k < src.dots.length; k++) {
    const w = clip.dotAt(7, k);
    const s = clip.dotAt(7, k, 'source');
    if (!w || !s) continue;
    // One point, two pixel grids (centre-aligned, 2 source px a working px).
    assert.ok(Math.abs((w.x + 0.5) * 2 - 0.5 - s.x) < 1e-6 && Math.abs((w.y + 0.5) * 2 - 0.5 - s.y) < 1e-6);
  }
  // The full-size edited region is the working one at twice the size (4× the area), less the edges that the
  // downscaled keyframe spreads over neighbouring working pixels.
  const area = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);
  const ratio = area(src.mask0) / area(clip.mask0);
  assert.ok(ratio > 3 && ratio < 4.2, `full-size / working edited area ${ratio}`);
});

test('a clip does not depend on the working size it is given: the same frames and source-size ground truth', () => {
  // Marks and motion are sized for a 512-px long side: raising STREAMEDIT_MAX_SIDE must not change the clip (nor DIS's
  // score on it), only what the methods are given.
  const at = (work: number): KnownMotionClip =>
    new KnownMotionClip({
      name: 'test',
      still: still(256),
      face: { cx: 128, cy: 120, width: 140, height: 168 },
      frames: 12,
      seed: 5,
      work: { width: work, height: work },
    });
  const [small, large] = [at(128), at(256)];
  assert.deepEqual(Buffer.from(small.frame(6).data), Buffer.from(large.frame(6).data));
  assert.deepEqual(Buffer.from(small.truth(6, 'source').edit.data), Buffer.from(large.truth(6, 'source').edit.data));
  assert.deepEqual(small.view('source').dots, large.view('source').dots);
  assert.notEqual(small.keyframe.width, large.keyframe.width);
});
