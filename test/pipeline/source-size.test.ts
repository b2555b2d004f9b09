import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  boxMean,
  createFlow,
  createFrame,
  liftFlow,
  liftRender,
  resampleFloat,
  resampleRgb,
  sourceRefineFor,
  transferEdit,
  upscaleBicubic,
  withExactDetail,
  type RgbFrame,
} from '@streamedit/pipeline';

/** A frame whose left part (x < edge) is dark and right part bright, with a little texture. */
function stepFrame(w: number, h: number, edge: number): RgbFrame {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      d.fill(x < edge ? 40 + ((x + y) % 3) : 200 + ((x * y) % 5), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return createFrame(w, h, d);
}

test('resample: area down and bilinear up keep a constant; area down averages exactly', () => {
  const c = { width: 10, height: 6, channels: 2, data: new Float32Array(120).fill(7) };
  for (const [w, h] of [
    [4, 3],
    [25, 15],
  ] as const) {
    const r = resampleFloat(c, w, h);
    assert.ok(
      r.data.every((v) => Math.abs(v - 7) < 1e-5),
      `${w}×${h}`,
    );
  }
  const ramp = { width: 4, height: 1, channels: 1, data: Float32Array.from([0, 10, 20, 30]) };
  assert.deepEqual([...resampleFloat(ramp, 2, 1).data], [5, 25]);
  const f = stepFrame(8, 8, 4);
  assert.deepEqual(resampleRgb(f, 8, 8), f, 'same size: unchanged');
  assert.deepEqual([...boxMean(Float32Array.from([1, 2, 3]), 3, 1, 1)], [1.5, 2, 2.5]);
});

test('transferEdit: an unedited frame stays the target frame; an edit moves with its delta', () => {
  const small = stepFrame(16, 8, 8);
  const big = stepFrame(40, 20, 20);
  assert.deepEqual(transferEdit(small, small, big).data, big.data);
  const edited = createFrame(
    16,
    8,
    small.data.map((v) => Math.min(255, v + 10)),
  );
  const up = transferEdit(small, edited, big);
  for (let i = 0; i < big.data.length; i++) assert.equal(up.data[i], Math.min(255, big.data[i]! + 10));
});

test('liftFlow: a uniform flow is scaled by the size ratio, both ways', () => {
  const flow = createFlow(16, 8);
  flow.data.fill(1.5, 0, 128);
  flow.data.fill(-0.5, 128);
  for (const mode of ['guided', 'bilinear'] as const) {
    const up = liftFlow(flow, stepFrame(16, 8, 8), stepFrame(40, 20, 20), { mode });
    assert.deepEqual([up.width, up.height], [40, 20]);
    assert.ok(
      up.data.subarray(0, 800).every((v) => Math.abs(v - 3.75) < 1e-4),
      mode,
    );
    assert.ok(
      up.data.subarray(800).every((v) => Math.abs(v + 1.25) < 1e-4),
      mode,
    );
  }
});

test('liftFlow guided: a motion boundary on an image edge stays sharp at the source size (bilinear smears it)', () => {
  // Working size 16×8: the left half moves by 2 px, the right half is still; the edge between them is an image edge.
  const w = 16,
    h = 8,
    W = 64,
    H = 32;
  const flow = createFlow(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) flow.data[y * w + x] = x < 8 ? 2 : 0;
  const low = stepFrame(w, h, 8);
  const full = stepFrame(W, H, 32);
  const truth = (x: number) => (x < 32 ? 8 : 0);
  const error = (mode: 'guided' | 'bilinear') => {
    const up = liftFlow(flow, low, full, { mode });
    let e = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) e += Math.abs(up.data[y * W + x]! - truth(x));
    return e / (W * H);
  };
  const guided = error('guided');
  const bilinear = error('bilinear');
  assert.ok(guided < 0.6 * bilinear, `guided ${guided.toFixed(3)} vs bilinear ${bilinear.toFixed(3)} px`);
});

test('liftRender: no motion and no synthesis gives the full-size edit itself; synthesised pixels come from the upscaled result', () => {
  const low = stepFrame(16, 8, 8);
  const full = stepFrame(40, 20, 20);
  const editedFull = createFrame(
    40,
    20,
    full.data.map((v) => 255 - v),
  );
  const flow = createFlow(16, 8);
  const same = liftRender({ warped: low, result: low, flow, current: low, currentFull: full, editedFull });
  assert.deepEqual(same.image.data, editedFull.data);
  // Synthesis replaced the left quarter (columns 0..3 at working size): there the flow was not trusted, so the
  // output is the synthesised result upscaled; far from it the full-size edit is untouched.
  const patched = createFrame(
    16,
    8,
    low.data.map((v, k) => (Math.floor(k / 3) % 16 < 4 ? 77 : v)),
  );
  const lifted = liftRender({ warped: low, result: patched, flow, current: low, currentFull: full, editedFull });
  const plain = upscaleBicubic(patched, 40, 20);
  for (let y = 0; y < 20; y++) {
    for (let c = 0; c < 3; c++) {
      const inside = 3 * (y * 40 + 2) + c; // working column ~0.6: deep inside the replaced patch
      assert.equal(lifted.image.data[inside], plain.data[inside], `row ${y}: replaced pixel`);
      const outside = 3 * (y * 40 + 30) + c; // working column 12: far from it
      assert.equal(lifted.image.data[outside], editedFull.data[outside], `row ${y}: untouched pixel`);
    }
  }
});

/** Smooth pseudo-random texture sampled at (x + dx, y + dy): a sum of sines, exact at any sub-pixel shift. */
function texture(w: number, h: number, dx: number, dy: number): RgbFrame {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const X = x + dx;
      const Y = y + dy;
      const v =
        128 + 40 * Math.sin(X * 0.9 + Y * 0.3) + 30 * Math.sin(Y * 0.7 - X * 0.4) + 20 * Math.cos(0.5 * X * Y * 0.05);
      d.fill(Math.round(v), 3 * (y * w + x), 3 * (y * w + x) + 3);
    }
  return createFrame(w, h, d);
}

/**
 * The refine tests' scene: the target is the reference moved by (1.5, −1) source px; at working size (÷2.5) the
 * flow carries 0.3 px of error in x, which the lift multiplies by 2.5.
 */
function offByThreeTenths() {
  const [w, h, W, H] = [32, 24, 80, 60];
  const originalFull = texture(W, H, 0, 0);
  const currentFull = texture(W, H, 1.5, -1);
  const current = resampleRgb(currentFull, w, h);
  const flow = createFlow(w, h);
  flow.data.fill(1.5 / 2.5 + 0.3, 0, w * h);
  flow.data.fill(-1 / 2.5, w * h);
  return { w, h, W, H, originalFull, currentFull, current, flow };
}

test('liftRender refine: a working-size flow off by 0.3 px (0.75 source px) lands the full-size edit within 0.15 px', () => {
  // The source-size pass pulls the lifted flow's error back on the full-size frames.
  const { W, H, originalFull, currentFull, current, flow, w, h } = offByThreeTenths();
  const editedFull = createFrame(
    W,
    H,
    originalFull.data.map((v) => 255 - v),
  );
  const warped = resampleRgb(editedFull, w, h);
  const request = { warped, result: warped, flow, current, currentFull, editedFull };
  const layer = { flow, originalFull };
  const refine = sourceRefineFor(undefined, { work: flow, full: currentFull });
  assert.ok(refine && refine.iterations > 0, 'on by default when the source is larger');
  assert.equal(sourceRefineFor('off', { work: flow, full: currentFull }), undefined);
  assert.equal(sourceRefineFor(undefined, { work: flow, full: flow }), undefined, 'no pass at the working size');
  const meanError = (f: { data: Float32Array }): number => {
    let e = 0;
    let k = 0;
    for (let y = 12; y < H - 12; y++)
      for (let x = 12; x < W - 12; x++) {
        e += Math.hypot(f.data[y * W + x]! - 1.5, f.data[W * H + y * W + x]! + 1);
        k++;
      }
    return e / k;
  };
  const plain = liftRender({ ...request, layer });
  const refined = liftRender({ ...request, layer, refine: { ...refine, windowSigma: 6 } });
  assert.ok(meanError(plain.flow) > 0.6, `lifted as it is: ${meanError(plain.flow).toFixed(3)} px`);
  assert.ok(meanError(refined.flow) < 0.15, `refined: ${meanError(refined.flow).toFixed(3)} px`);
  // The edit rides the refined flow: closer to the edit moved by the true motion.
  const truth = createFrame(
    W,
    H,
    currentFull.data.map((v) => 255 - v),
  );
  const err = (img: RgbFrame): number => {
    let e = 0;
    for (let y = 12; y < H - 12; y++)
      for (let x = 12; x < W - 12; x++) e += Math.abs(img.data[3 * (y * W + x)]! - truth.data[3 * (y * W + x)]!);
    return e;
  };
  assert.ok(err(refined.image) < 0.5 * err(plain.image), `${err(refined.image)} vs ${err(plain.image)}`);
});

test('liftRender refine: with no edit to carry (a reconstruction) no pass runs, and the frame is the lifted flow', () => {
  const { W, H, originalFull, currentFull, current, flow, w, h } = offByThreeTenths();
  const warped = resampleRgb(originalFull, w, h);
  const refine = { ...sourceRefineFor(undefined, { work: flow, full: currentFull })!, windowSigma: 6 };
  const request = { warped, result: warped, flow, current, currentFull, layer: { flow, originalFull }, refine };
  // The same pixels as another frame object: an edit with nothing in it.
  const unedited = liftRender({ ...request, editedFull: createFrame(W, H, Uint8Array.from(originalFull.data)) });
  const plain = liftRender({ ...request, editedFull: originalFull, refine: undefined });
  assert.deepEqual(unedited.flow.data, plain.flow.data);
  assert.deepEqual(unedited.image.data, plain.image.data);
  const edited = createFrame(
    W,
    H,
    originalFull.data.map((v) => 255 - v),
  );
  assert.notDeepEqual(liftRender({ ...request, editedFull: edited }).flow.data, plain.flow.data, 'an edit is refined');
});

test('upscaleBicubic: a constant stays constant, sizes as asked', () => {
  const c = createFrame(5, 4, new Uint8Array(60).fill(90));
  const up = upscaleBicubic(c, 13, 9);
  assert.deepEqual([up.width, up.height], [13, 9]);
  assert.ok(up.data.every((v) => v === 90));
});

test('withExactDetail: a perfect working-size result gets the frame back; detail-free frames change nothing', () => {
  const full = stepFrame(40, 24, 17);
  const working = resampleRgb(full, 16, 10);
  // The working frame itself as the result: only the detail above its band was missing, and it is put back.
  assert.deepEqual(withExactDetail(upscaleBicubic(working, 40, 24), full, working).data, full.data);
  // A frame with nothing above the working band: the result keeps its own (wrong) content, untouched.
  const plain = upscaleBicubic(working, 40, 24);
  const wrong = upscaleBicubic(createFrame(16, 10, new Uint8Array(480).fill(120)), 40, 24);
  assert.deepEqual(withExactDetail(wrong, plain, working).data, wrong.data);
  assert.throws(() => withExactDetail(createFrame(16, 10, new Uint8Array(480)), full, working), RangeError);
});
