import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  backwardWarpRgb,
  createFlow,
  createFrame,
  DEFAULT_EDIT_FLOW,
  domainFilter,
  editFlow,
  editFlowSpatial,
  EditFlowTrack,
  invertFlow,
  keepOwnWhereWorse,
  layerFlowFor,
  offFaceWeight,
  lumaOf,
  refineFlowLucasKanade,
  trajectoryWeights,
  warpEdit,
  type FlowField,
  type RgbFrame,
} from '@streamedit/pipeline';

const W = 64;
const H = 48;
/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
function frame(fn: (x: number, y: number, c: number) => number): RgbFrame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[3 * (y * W + x) + c] = fn(x, y, c);
  return createFrame(W, H, data);
}
function uniformFlow(u: number, v: number): FlowField {
  const f = createFlow(W, H);
  f.data.fill(u, 0, W * H);
  f.data.fill(v, W * H);
  return f;
}

test('domainFilter: smooths noise inside a region and stops at a colour edge of the guide', () => {
  const guide = frame((x) => (x < W / 2 ? 40 : 200));
  const r = rng(1);
  const planes = new Float32Array(W * H);
  for (let i = 0; i < W * H; i++) planes[i] = (i % W < W / 2 ? 0 : 10) + (r() - 0.5) * 4;
  const out = domainFilter(planes, 1, guide, { spatial: 8, range: 30 });
  let left = 0;
  let right = 0;
  let spread = 0;
  for (let y = 0; y < H; y++) {
    left = Math.max(left, Math.abs(out[y * W + W / 2 - 1]!)); // last column of the left region, next to the edge
    right = Math.max(right, Math.abs(out[y * W + W / 2]! - 10));
    for (let x = 4; x < W / 2 - 4; x++) spread = Math.max(spread, Math.abs(out[y * W + x]!));
  }
  assert.ok(left < 0.6 && right < 0.6, `the edge leaked: ${left.toFixed(2)} / ${right.toFixed(2)} of a 10 step`);
  assert.ok(spread < 1, `noise of ±2 left at ±${spread.toFixed(2)}`);
  // Without the edge in the guide the same filter blends the two values.
  const flat = domainFilter(
    planes,
    1,
    frame(() => 100),
    { spatial: 8, range: 30 },
  );
  assert.ok(Math.abs(flat[(H / 2) * W + W / 2 - 1]! - 5) < 2.5, `no edge: ${flat[(H / 2) * W + W / 2 - 1]}`);
});

test('editFlow: flat pixels take the motion of the textured ones; a constant flow stays exact', () => {
  // Texture on the left third, flat skin-like grey elsewhere; the true flow is (1.5, −0.5) everywhere.
  const guide = frame((x, y) => (x < W / 3 ? (((x >> 1) + (y >> 1)) % 2 ? 180 : 60) : 128));
  const exact = editFlow(uniformFlow(1.5, -0.5), guide);
  for (let i = 0; i < W * H; i++)
    assert.ok(Math.abs(exact.data[i]! - 1.5) < 1e-3 && Math.abs(exact.data[W * H + i]! + 0.5) < 1e-3);
  // Noise of ±0.5 px on the flat pixels (what a photometric fit does on flat skin), exact on the texture.
  const r = rng(7);
  const noisy = uniformFlow(1.5, -0.5);
  for (let i = 0; i < W * H; i++)
    if (i % W >= W / 3) {
      noisy.data[i] = noisy.data[i]! + (r() - 0.5);
      noisy.data[W * H + i] = noisy.data[W * H + i]! + (r() - 0.5);
    }
  const epe = (f: FlowField): number => {
    let s = 0;
    for (let i = 0; i < W * H; i++) s += Math.hypot(f.data[i]! - 1.5, f.data[W * H + i]! + 0.5);
    return s / (W * H);
  };
  const before = epe(noisy);
  const after = epe(editFlow(noisy, guide));
  assert.ok(after < before / 3, `EPE ${before.toFixed(3)} → ${after.toFixed(3)}`);
});

test('editFlow: on a small face σ is a share of the face, so a local motion of the face is not averaged away', () => {
  const size = { width: 512, height: 288 };
  assert.equal(editFlowSpatial(DEFAULT_EDIT_FLOW, size, undefined), 16);
  assert.equal(editFlowSpatial(DEFAULT_EDIT_FLOW, size, { height: 250 }), 16); // the faces the default was chosen on
  assert.ok(Math.abs(editFlowSpatial(DEFAULT_EDIT_FLOW, size, { height: 100 }) - 8) < 1e-9);
  assert.equal(editFlowSpatial({ ...DEFAULT_EDIT_FLOW, spatialFace: 0 }, size, { height: 100 }), 16);
  // A bump of 3 px (σ 10 px) in v on even grey: the face-sized σ keeps more of its peak than the frame-sized one.
  const { width: w, height: h } = size;
  const guide = createFrame(w, h, new Uint8Array(w * h * 3).fill(128));
  const bump = createFlow(w, h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) bump.data[w * h + y * w + x] = 3 * Math.exp(-((x - 256) ** 2 + (y - 144) ** 2) / 200);
  const peak = (f: FlowField): number => f.data[w * h + 144 * w + 256]!;
  const framed = peak(editFlow(bump, guide));
  const faced = peak(editFlow(bump, guide, DEFAULT_EDIT_FLOW, { height: 100 }));
  assert.ok(faced > framed + 0.3, `peak of 3 px kept: ${faced.toFixed(2)} (face) vs ${framed.toFixed(2)} (frame)`);
});

test('warpEdit: the frame by the flow, the painted edit by the layer flow; no edit → exactly the warp', () => {
  const original = frame((x, y, c) => 90 + ((x * 7 + y * 3 + c * 11) % 40));
  const flow = uniformFlow(1, 0);
  const layer = uniformFlow(3, 0);
  // Nothing edited: the reference warped by the flow, whatever the layer flow.
  assert.deepEqual(warpEdit({ original, edited: original }, flow, layer), backwardWarpRgb(original, flow));
  const copy = createFrame(W, H, new Uint8Array(original.data));
  assert.deepEqual(warpEdit({ original, edited: copy }, flow, layer).data, backwardWarpRgb(original, flow).data);
  // A painted dot at (30, 20): +100 in red. Output pixel x samples x + u, so the dot lands at x = 27 (layer flow),
  // while the frame's own texture moves by the flow.
  const edited = createFrame(W, H, new Uint8Array(original.data));
  edited.data[3 * (20 * W + 30)] = original.data[3 * (20 * W + 30)]! + 100;
  const out = warpEdit({ original, edited }, flow, layer);
  const base = backwardWarpRgb(original, flow);
  assert.equal(out.data[3 * (20 * W + 27)]! - base.data[3 * (20 * W + 27)]!, 100);
  assert.equal(out.data[3 * (20 * W + 29)], base.data[3 * (20 * W + 29)]);
  // With the layer flow equal to the flow it is the edited reference warped by the flow.
  assert.deepEqual(warpEdit({ original, edited }, flow, flow), backwardWarpRgb(edited, flow));
});

test('invertFlow: a backward flow becomes the forward displacement and back', () => {
  assert.deepEqual([...new Set(invertFlow(uniformFlow(1, -2)).data.subarray(0, W * H))], [-1]);
  // A smooth field (a small rotation about the centre): inverting twice returns it within 0.01 px.
  const f = createFlow(W, H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      f.data[y * W + x] = -0.05 * (y - H / 2);
      f.data[W * H + y * W + x] = 0.05 * (x - W / 2);
    }
  const back = invertFlow(invertFlow(f, 12), 12);
  let worst = 0;
  for (let y = 4; y < H - 4; y++)
    for (let x = 4; x < W - 4; x++) worst = Math.max(worst, Math.abs(back.data[y * W + x]! - f.data[y * W + x]!));
  assert.ok(worst < 0.01, `round trip off by ${worst}`);
});

test('trajectoryWeights: reproduce polynomials up to the fitted degree', () => {
  const times = [3, 4, 5, 6, 7, 8, 9];
  const b = trajectoryWeights(times, 6, 3);
  const moment = (k: number): number => times.reduce((acc, s, j) => acc + b[j]! * (s - 6) ** k, 0);
  assert.ok(Math.abs(moment(0) - 1) < 1e-9 && Math.abs(moment(1)) < 1e-9 && Math.abs(moment(2)) < 1e-9);
  // At the window's end (one side only) the fit drops to a line: still exact for lines.
  const end = trajectoryWeights([6, 7, 8, 9], 9, 3);
  const m1 = [6, 7, 8, 9].reduce((acc, s, j) => acc + end[j]! * (s - 9), 0);
  assert.ok(Math.abs(end.reduce((a, v) => a + v, 0) - 1) < 1e-9 && Math.abs(m1) < 1e-9);
});

test('EditFlowTrack: per-frame wobble around a smooth motion is smoothed away; jumps past maxChangePx are kept', () => {
  const truth = (t: number): number => 0.2 * t; // a uniform motion growing linearly with time
  const track = new EditFlowTrack(0, { start: 0, end: 12 }, { radius: 4, maxChangePx: 1, photometricGuard: 'off' });
  const wobble = (t: number): number => (t % 2 ? 0.3 : -0.3);
  const answers: number[] = [];
  let next = 1;
  for (let t = 1; t < 12; t++) {
    for (; next <= track.needs(t); next++) track.add(next, uniformFlow(truth(next) + wobble(next), 0));
    answers.push(track.at(t).data[(H / 2) * W + W / 2]! - truth(t));
  }
  const worstIn = Math.max(...answers.slice(2, 7).map(Math.abs));
  assert.ok(worstIn < 0.12, `wobble of ±0.3 left at ±${worstIn.toFixed(3)}`);
  // A frame 3 px off its neighbours (a cut, an occlusion) keeps its own flow.
  const jump = new EditFlowTrack(0, { start: 0, end: 6 }, { radius: 2, maxChangePx: 1, photometricGuard: 'off' });
  for (let s = 1; s < 6; s++) jump.add(s, uniformFlow(s === 3 ? 3 : 0, 0));
  assert.equal(jump.at(3).data[0], 3);
});

test("the photometric guard keeps the frame's own flow where the trajectory misses a fast motion, nowhere else", () => {
  const guard = { radiusPx: 2, ratio: 1.5, floor: 16 };
  // Skin-pore-to-lip-edge contrast (gradients of ~10 levels a px); the frame moved 1.5 px and its own flow says so.
  const [ref, cur] = shiftedTexture(11, 1.5, 0, { lowest: 0.1, span: 0.3, amplitude: 40 });
  const own = uniformFlow(1.5, 0);
  const luma = { reference: lumaOf(ref), current: lumaOf(cur) };
  // A trajectory that missed the motion (a quadratic over ±8 frames through a syllable): the own flow comes back.
  const missed = uniformFlow(0, 0);
  keepOwnWhereWorse({ smoothed: missed, own }, luma, guard);
  const restored = missed.data.subarray(0, W * H).filter((u) => u === 1.5).length / (W * H);
  assert.ok(restored > 0.9, `own flow restored at ${(100 * restored).toFixed(1)} % of the pixels`);
  // A trajectory a few hundredths off (the wobble it exists to remove) explains the frame as well: it stays.
  const close = uniformFlow(1.46, 0);
  keepOwnWhereWorse({ smoothed: close, own }, luma, guard);
  assert.ok(close.data.subarray(0, W * H).every((u) => u === Math.fround(1.46)));
  // On a flat image nothing tells the two apart: the trajectory stays.
  const flat = createFrame(W, H, new Uint8Array(W * H * 3).fill(128));
  const far = uniformFlow(0, 0);
  keepOwnWhereWorse({ smoothed: far, own }, { reference: lumaOf(flat), current: lumaOf(flat) }, guard);
  assert.ok(far.data.every((u) => u === 0));
});

/**
 * A random texture (sums of sines, angular frequencies in [lowest, lowest + span) rad/px; smooth by default) and
 * the same texture sampled at x + (dx, dy), both 8-bit.
 */
function shiftedTexture(
  seed: number,
  dx: number,
  dy: number,
  waveShape = { lowest: 0.05, span: 0.25, amplitude: 18 },
): [RgbFrame, RgbFrame] {
  const r = rng(seed);
  const { lowest, span, amplitude } = waveShape;
  const waves = Array.from({ length: 6 }, () => ({ fx: lowest + r() * span, fy: lowest + r() * span, p: r() * 6 }));
  const tex = (x: number, y: number): number =>
    128 + waves.reduce((s, k) => s + amplitude * Math.sin(k.fx * x + k.fy * y + k.p), 0);
  return [frame((x, y) => Math.round(tex(x, y))), frame((x, y) => Math.round(tex(x + dx, y + dy)))];
}

test('refineFlowLucasKanade: a flow 0.4 px off a known sub-pixel shift of a textured image comes back within 0.1 px', () => {
  // target(x) = source(x + (1.3, −0.7))
  const [source, target] = shiftedTexture(7, 1.3, -0.7);
  const start = uniformFlow(1.3 + 0.4, -0.7 - 0.3);
  const refined = refineFlowLucasKanade(start, source, target, { windowSigma: 6, iterations: 4, damping: 0.1 });
  let err = 0;
  let count = 0;
  for (let y = 8; y < H - 8; y++)
    for (let x = 8; x < W - 8; x++) {
      const i = y * W + x;
      err += Math.hypot(refined.data[i]! - 1.3, refined.data[W * H + i]! + 0.7);
      count++;
    }
  assert.ok(err / count < 0.1, `mean error ${(err / count).toFixed(3)} px (started at 0.5; 8-bit frames)`);
  // Where there is nothing to see (a flat image) the flow stays as it was: damping, not a guess.
  const flat = frame(() => 90);
  const kept = refineFlowLucasKanade(start, flat, flat, { windowSigma: 6, iterations: 4, damping: 0.1 });
  assert.deepEqual(kept.data, start.data);
});

test('refineFlowLucasKanade: fine texture shifted by a quarter pixel — no pull from the sampler (bicubic, not bilinear)', () => {
  // Detail of 4–6 px periods (skin pores, a painted checker): a bilinear warp of the source blurs it by an amount
  // that depends on the sub-pixel position, so the residual is smallest off the true shift.
  const [source, target] = shiftedTexture(11, 0.25, -0.3, { lowest: 0.6, span: 0.7, amplitude: 15 });
  const refined = refineFlowLucasKanade(uniformFlow(0, 0), source, target, {
    windowSigma: 6,
    iterations: 4,
    damping: 0.1,
  });
  let u = 0;
  let v = 0;
  let count = 0;
  for (let y = 8; y < H - 8; y++)
    for (let x = 8; x < W - 8; x++) {
      u += refined.data[y * W + x]!;
      v += refined.data[W * H + y * W + x]!;
      count++;
    }
  const bias = Math.hypot(u / count - 0.25, v / count + 0.3);
  // Bicubic sampling: 0.019 px; the bilinear warp it replaced: 0.239 px, most of the quarter pixel.
  assert.ok(bias < 0.05, `mean flow off the true shift by ${bias.toFixed(3)} px`);
});

test('layerFlowFor: the smoothed flow is refined against the reference; editFlow off is the flow itself', () => {
  const [reference, current] = shiftedTexture(9, 0.6, 0.2);
  const off = uniformFlow(0.9, 0.5); // 0.3 px off in both components
  const ref = { original: reference, edited: frame(() => 200) };
  assert.equal(layerFlowFor(off, { ref, current }, { editFlow: 'off' }), off);
  // The window scales with the frame (12 px at 512 is 1.5 px here): at this toy size, a 6 px window.
  const layer = layerFlowFor(off, { ref, current }, { editFlow: { ...DEFAULT_EDIT_FLOW, refineWindowPx: 48 } });
  const i = (H / 2) * W + W / 2;
  assert.ok(
    Math.abs(layer.data[i]! - 0.6) < 0.1 && Math.abs(layer.data[W * H + i]! - 0.2) < 0.1, // from 0.3 off; 8-bit frames
    `centre pixel (${layer.data[i]!.toFixed(3)}, ${layer.data[W * H + i]!.toFixed(3)}), truth (0.6, 0.2)`,
  );
});

test("layerFlowFor's fine pass: a thin line's own motion is found; flat, noisy skin is left where it was", () => {
  // A dark 2-px line over flat skin with independent sensor noise in each frame; the line moved +0.5 px in x, the
  // skin did not (a glasses rim over a still cheek). The smoothed flow says 0 everywhere.
  const r = rng(5);
  const line = (x: number, shift: number): number => {
    const cover = Math.max(0, Math.min(1, x + 1 - (30 + shift))) - Math.max(0, Math.min(1, x + 1 - (32 + shift)));
    return 120 - 90 * cover;
  };
  const noisy = (shift: number): RgbFrame => {
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = Math.round(line(x, shift) + (r() - 0.5) * 8);
        for (let c = 0; c < 3; c++) data[3 * (y * W + x) + c] = v;
      }
    return createFrame(W, H, data);
  };
  const reference = noisy(0);
  const current = noisy(0.5);
  const ref = { original: reference, edited: frame(() => 200) };
  // At this toy size the windows scale down 8×: the face-sized pass is made coarse (σ 6 px), the fine one σ 2 px.
  const base = { ...DEFAULT_EDIT_FLOW, refineWindowPx: 48, refineWindowFace: 0, fineWindowPx: 16 };
  const at = (editFlow: typeof base) => layerFlowFor(uniformFlow(0, 0), { ref, current }, { editFlow });
  const lineError = (f: FlowField): number => {
    let e = 0;
    for (let y = 8; y < H - 8; y++) for (const x of [30, 31, 32]) e += Math.abs(f.data[y * W + x]! + 0.5);
    return e / (3 * (H - 16));
  };
  /** Mean change from `a` to `b` on the skin away from the line. */
  const skinChange = (a: FlowField, b: FlowField): number => {
    let e = 0;
    let count = 0;
    for (let y = 8; y < H - 8; y++)
      for (let x = 6; x < W - 6; x++)
        if (x < 22 || x > 40) {
          const i = y * W + x;
          e += Math.hypot(b.data[i]! - a.data[i]!, b.data[W * H + i]! - a.data[W * H + i]!);
          count++;
        }
    return e / count;
  };
  const coarse = at({ ...base, fineIterations: 0 });
  const fine = at(base);
  assert.ok(
    lineError(fine) < 0.6 * lineError(coarse),
    `line: ${lineError(fine).toFixed(3)} px off with the fine pass, ${lineError(coarse).toFixed(3)} without`,
  );
  const moved = skinChange(coarse, fine);
  assert.ok(moved < 0.05, `the fine pass moved flat skin by ${moved.toFixed(3)} px`);
  // Without its damping, the same small windows follow the noise: what would shear an edit painted on the skin.
  const undamped = skinChange(coarse, at({ ...base, fineDamping: 0.1 }));
  assert.ok(undamped > 4 * moved, `undamped, flat skin moved ${undamped.toFixed(3)} px`);
});

test('offFaceWeight: 0 on the landmark box, a ramp of band × face height outside it, none without a box', () => {
  const face = { height: 20, box: { x0: 10, y0: 10, x1: 30, y1: 30 } };
  const weight = offFaceWeight(face, { width: W, height: H }, 0.1)!;
  const at = (x: number, y: number): number => weight[y * W + x]!;
  assert.equal(at(10, 10), 0);
  assert.equal(at(30, 20), 0);
  assert.equal(at(31, 20), 0.5); // 1 px out of a 2-px ramp
  assert.equal(at(32, 20), 1);
  assert.equal(at(20, 9), 0.5);
  assert.equal(at(60, 45), 1);
  assert.equal(offFaceWeight({ height: 20 }, { width: W, height: H }, 0.1), undefined);
  assert.equal(offFaceWeight(undefined, { width: W, height: H }, 0.1), undefined);
});

test('layerFlowFor with offFaceWindowFace: the background just past a moving head keeps its own motion; the face is untouched', () => {
  // The head (left, inside the landmark box) moved 1 px, the background (right) did not; the correspondence's flow
  // bled the head's motion over both. target(x) = source(x + 1) on the head.
  const [source, moved] = shiftedTexture(11, 1, 0);
  const current = frame((x, y, c) => (x < 28 ? moved : source).data[3 * (y * W + x) + c]!);
  const ref = { original: source, edited: frame(() => 200) };
  const face = { height: 40, box: { x0: 2, y0: 4, x1: 24, y1: 44 } };
  // Face windows of σ 10 px at this toy size: they reach across the head's outline into the background. The off-face
  // window (opt-in: a second affine pass) is σ 1 px.
  const faceSized = { ...DEFAULT_EDIT_FLOW, refineWindowFace: 0.25, offFaceWindowFace: 0.025 };
  const at = (editFlow: typeof faceSized) => layerFlowFor(uniformFlow(1, 0), { ref, current, face }, { editFlow });
  const split = at(faceSized);
  const one = at({ ...faceSized, offFaceWindowFace: 0, offFaceFineDamping: faceSized.fineDamping });
  // Inside the box, past the fine pass's reach (its windows there see the background's new flow): the same flow, but
  // for the box filters' running sums, which carry rounding along a whole row.
  let faceChange = 0;
  for (let y = 8; y <= 40; y++)
    for (let x = 6; x <= 20; x++) {
      const i = y * W + x;
      faceChange = Math.max(faceChange, Math.abs(split.data[i]! - one.data[i]!));
      faceChange = Math.max(faceChange, Math.abs(split.data[W * H + i]! - one.data[W * H + i]!));
    }
  assert.ok(faceChange < 1e-3, `the face's flow moved by ${faceChange} px`);
  /** Mean flow error over the 10 px of background past the head's outline (x = 28), where face windows reach. */
  const backgroundError = (f: FlowField): number => {
    let e = 0;
    let count = 0;
    for (let y = 8; y < H - 8; y++)
      for (let x = 29; x <= 38; x++) {
        e += Math.hypot(f.data[y * W + x]!, f.data[W * H + y * W + x]!);
        count++;
      }
    return e / count;
  };
  assert.ok(
    backgroundError(split) < 0.5 * backgroundError(one),
    `background ${backgroundError(split).toFixed(3)} px off with its own windows, ${backgroundError(one).toFixed(3)} with the face's`,
  );
});

test('refineFlowLucasKanade with a damping per pixel: each side solved as with its own damping', () => {
  // Weak texture moved 0.5 px: a damping of 40 holds most of the flow back, one of 2 does not.
  const [source, target] = shiftedTexture(3, 0.5, 0, { lowest: 0.05, span: 0.25, amplitude: 3 });
  const settings = { windowSigma: 2, iterations: 4, robust: 10 };
  const run = (damping: number | Float32Array) =>
    refineFlowLucasKanade(uniformFlow(0, 0), source, target, { ...settings, damping });
  const held = run(40);
  const free = run(2);
  const split = run(Float32Array.from({ length: W * H }, (_, i) => (i % W < W / 2 ? 40 : 2)));
  let left = 0;
  let right = 0;
  for (let y = 6; y < H - 6; y++) {
    // Away from the split by more than the windows' reach over four steps.
    for (let x = 4; x < W / 2 - 10; x++)
      left = Math.max(left, Math.abs(split.data[y * W + x]! - held.data[y * W + x]!));
    for (let x = W / 2 + 10; x < W - 4; x++)
      right = Math.max(right, Math.abs(split.data[y * W + x]! - free.data[y * W + x]!));
  }
  assert.ok(left < 1e-3 && right < 1e-3, `left off by ${left}, right by ${right}`);
  const mean = (f: FlowField, x0: number, x1: number): number => {
    let sum = 0;
    for (let y = 6; y < H - 6; y++) for (let x = x0; x < x1; x++) sum += f.data[y * W + x]!;
    return sum / ((H - 12) * (x1 - x0));
  };
  // The two dampings do differ here, or the test above would prove nothing.
  assert.ok(mean(split, W / 2 + 10, W - 4) - mean(split, 4, W / 2 - 10) > 0.05, 'the two sides moved alike');
  assert.throws(() => run(new Float32Array(3)), RangeError);
  assert.throws(
    () =>
      refineFlowLucasKanade(uniformFlow(0, 0), source, target, {
        ...settings,
        affineSteps: 1,
        damping: new Float32Array(W * H),
      }),
    RangeError,
  );
});
