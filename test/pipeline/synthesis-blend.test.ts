import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  blendSeams,
  composeNnf,
  createFlow,
  createFrame,
  decodeFrames,
  discMask,
  distanceTransform,
  identityNnf,
  nnfFromFlow,
  seamWeights,
  type RgbFrame,
} from '@streamedit/pipeline';
import { clipPath } from '../support/clips';

let base: RgbFrame;
let other: RgbFrame;
before(async () => {
  const frames: RgbFrame[] = [];
  for (const start of [0, 100]) {
    for await (const f of decodeFrames(clipPath('d3'), { maxSide: 128, start, count: 1 }))
      frames.push(createFrame(f.width, f.height, f.data.slice()));
  }
  [base, other] = frames as [RgbFrame, RgbFrame];
});

test('distanceTransform: exact Euclidean distance to the nearest set pixel (brute force check)', () => {
  const w = 23;
  const h = 17;
  let seed = 5;
  const mask = Uint8Array.from({ length: w * h }, () => ((seed = (seed * 16807) % 2147483647) % 10 === 0 ? 1 : 0));
  const got = distanceTransform(mask, w, h, true);
  for (let i = 0; i < w * h; i++) {
    let best = Infinity;
    for (let j = 0; j < w * h; j++)
      if (mask[j]) best = Math.min(best, Math.hypot((i % w) - (j % w), Math.floor(i / w) - Math.floor(j / w)));
    assert.ok(Math.abs(got[i]! - best) < 1e-4, `pixel ${i}: ${got[i]} vs ${best}`);
  }
  assert.equal(distanceTransform(new Uint8Array(6), 3, 2, true)[0], Infinity);
});

test('blendSeams: feather 0 is the hard composite; a feather keeps the core and the surroundings', () => {
  const { width: w, height: h } = base;
  const mask = discMask(w, h, 0.2);
  const hard = blendSeams(base, other, mask, 0);
  for (let i = 0; i < w * h; i++) {
    const from = mask[i] ? other : base;
    assert.deepEqual(hard.data.subarray(3 * i, 3 * i + 3), from.data.subarray(3 * i, 3 * i + 3));
  }
  const feather = 6;
  const soft = blendSeams(base, other, mask, feather);
  const inside = distanceTransform(mask, w, h, false);
  const outside = distanceTransform(mask, w, h, true);
  for (let i = 0; i < w * h; i++) {
    const deep = mask[i] ? inside[i]! > feather / 2 + 0.5 : outside[i]! > feather / 2 + 0.5;
    if (deep)
      assert.deepEqual(soft.data.subarray(3 * i, 3 * i + 3), (mask[i] ? other : base).data.subarray(3 * i, 3 * i + 3));
  }
});

test('blendSeams: the feathered seam is smoother than the hard one', () => {
  const { width: w, height: h } = base;
  const mask = discMask(w, h, 0.2);
  // Mean colour step between horizontal neighbours that straddle the mask boundary.
  const seamStep = (f: RgbFrame) => {
    let s = 0;
    let n = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x + 1 < w; x++) {
        const i = y * w + x;
        if (!mask[i] === !mask[i + 1]) continue;
        for (let c = 0; c < 3; c++) s += Math.abs(f.data[3 * i + c]! - f.data[3 * i + 3 + c]!);
        n++;
      }
    }
    return s / n;
  };
  const hard = seamStep(blendSeams(base, other, mask, 0));
  const soft = seamStep(blendSeams(base, other, mask, 8));
  assert.ok(soft < 0.5 * hard, `seam step ${soft.toFixed(2)} feathered vs ${hard.toFixed(2)} hard`);
  const alpha = seamWeights(mask, w, h, 8);
  assert.ok(alpha.every((a) => a >= 0 && a <= 1));
});

test('nnf helpers: a flow becomes a rounded, clamped field; composing with a still flow keeps the field', () => {
  const flow = createFlow(4, 3);
  flow.data.fill(1.6, 0, 12); // u
  flow.data.fill(-0.4, 12); // v
  const f = nnfFromFlow(flow);
  assert.deepEqual([f.data[0], f.data[1]], [2, 0]); // (0 + 1.6, 0 − 0.4) → (2, 0)
  assert.deepEqual([f.data[2 * 3], f.data[2 * 3 + 1]], [3, 0]); // x clamped to 3
  const prev = nnfFromFlow(flow);
  assert.deepEqual(composeNnf(prev, createFlow(4, 3)).data, prev.data);
  // A one-pixel move left then the previous field: pixel (1, 1) → previous (0, 1) → prev's match of (0, 1).
  const left = createFlow(4, 3);
  left.data.fill(-1, 0, 12);
  const c = composeNnf(prev, left);
  const j = 2 * (1 * 4 + 0);
  assert.deepEqual([c.data[2 * (1 * 4 + 1)], c.data[2 * (1 * 4 + 1) + 1]], [prev.data[j], prev.data[j + 1]]);
  assert.deepEqual(identityNnf(2, 2).data, Int32Array.from([0, 0, 1, 0, 0, 1, 1, 1]));
});
