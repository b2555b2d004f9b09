import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createFlow,
  createFrame,
  faceShapeOf,
  LANDMARK_COUNT,
  lipSeamOf,
  refineFlowLucasKanade,
  seamOnImage,
  seamSides,
  type FlowField,
  type RgbFrame,
} from '@streamedit/pipeline';

const W = 96;
const H = 64;
const UPPER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
const LOWER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308];

/** 478 landmarks, NaN but for the inner lips: corners at (x0, y0) and (x1, y1), lips `gap` px apart in between. */
function lips(x0: number, y0: number, x1: number, y1: number, gap: number): Float32Array {
  const l = new Float32Array(2 * LANDMARK_COUNT).fill(NaN);
  UPPER.forEach((u, k) => {
    const f = k / (UPPER.length - 1);
    const x = x0 + f * (x1 - x0);
    const y = y0 + f * (y1 - y0);
    const open = (gap / 2) * Math.sin(Math.PI * f);
    l[2 * u] = x;
    l[2 * u + 1] = y - open;
    l[2 * LOWER[k]!] = x;
    l[2 * LOWER[k]! + 1] = y + open;
  });
  return l;
}

test('lipSeamOf / seamSides: the midline between the lips splits a band into upper (+1) and lower (−1) sides', () => {
  assert.equal(lipSeamOf(undefined), undefined);
  assert.equal(lipSeamOf(new Float32Array(2 * LANDMARK_COUNT).fill(NaN)), undefined);
  const seam = lipSeamOf(lips(30, 32, 66, 32, 6))!;
  assert.equal(seam.points[1], 32); // the midline of an opening mouth is its centre line
  const sides = seamSides(seam, W, H, { band: 10, extend: 0.25 });
  const at = (x: number, y: number): number => sides[y * W + x]!;
  assert.equal(at(48, 30), 1);
  assert.equal(at(48, 34), -1);
  assert.equal(at(48, 20), 0, 'beyond the band');
  assert.equal(at(24, 34), -1, 'the seam runs on past the corner (36 px mouth × 0.25 = 9 px)');
  assert.equal(at(18, 34), 0, 'but not further');
  // A head tilted by 11°: the seam tilts with it (y = 26 + 7·(x − 30)/36: 31.8 at x = 60, 27.2 at x = 36).
  const tilted = seamSides(lipSeamOf(lips(30, 26, 66, 33, 0))!, W, H, { band: 10 });
  assert.equal(tilted[33 * W + 60], -1);
  assert.equal(tilted[31 * W + 60], 1);
  assert.equal(tilted[28 * W + 36], -1);
  assert.equal(tilted[26 * W + 36], 1);
});

/** A smooth texture sampled at (x, y). */
function texture(x: number, y: number): number {
  return 128 + 30 * Math.sin(0.31 * x + 0.17 * y) + 25 * Math.sin(0.13 * x - 0.29 * y + 1) + 15 * Math.cos(0.23 * y);
}
function frame(fn: (x: number, y: number) => number): RgbFrame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      data.fill(Math.max(0, Math.min(255, Math.round(fn(x, y)))), 3 * (y * W + x), 3 * (y * W + x) + 3);
  return createFrame(W, H, data);
}

test('refineFlowLucasKanade with seam sides: the two lips keep their own motions where a window spans both', () => {
  // The mouth opens at y = 32: above, the target samples the source 1.5 px lower (the upper lip moved up); below,
  // 1.5 px higher. Backward flow v = +1.5 above the seam, −1.5 below it.
  const trueV = (y: number): number => (y < 32 ? 1.5 : -1.5);
  const source = frame(texture);
  const target = frame((x, y) => texture(x, y + trueV(y)));
  const start: FlowField = createFlow(W, H); // zero: what a smoothing across the seam leaves (deterministic: 0.55 px without sides, 0.23 with)
  const sides = seamSides(lipSeamOf(lips(-40, 32, 136, 32, 0))!, W, H, { band: 40 });
  const settings = { windowSigma: 6, iterations: 6, damping: 0.1, robust: 10 };
  const plain = refineFlowLucasKanade(start, source, target, settings);
  const split = refineFlowLucasKanade(start, source, target, { ...settings, sides });
  const errNearSeam = (f: FlowField): number => {
    let e = 0;
    let count = 0;
    for (let y = 24; y < 40; y++)
      for (let x = 16; x < W - 16; x++) {
        e += Math.abs(f.data[W * H + y * W + x]! - trueV(y));
        count++;
      }
    return e / count;
  };
  const ePlain = errNearSeam(plain);
  const eSplit = errNearSeam(split);
  assert.ok(eSplit < 0.3, `with sides: mean |Δv| ${eSplit.toFixed(3)} px within 8 px of the seam`);
  assert.ok(eSplit < ePlain * 0.6, `without sides ${ePlain.toFixed(3)} px, with ${eSplit.toFixed(3)}`);
});

test('faceShapeOf: the face height from the landmark box; no landmarks, no shape', () => {
  assert.equal(faceShapeOf(undefined), undefined);
  const l = lips(30, 32, 66, 32, 4);
  l[0] = 10; // another landmark (index 0) higher up the face: the box spans y 10..34
  l[1] = 10;
  const shape = faceShapeOf(l, { x: 2, y: 2 })!;
  assert.equal(shape.height, 48); // (34 − 10) × 2: the lower inner lip reaches 32 + 2
  assert.equal(shape.seam!.points[0], 60);
});

test('seamOnImage: the seam moves onto the darkest line of the mouth within the search, not beyond', () => {
  // Landmarks put the midline at y = 30; the dark gap between the lips is at y = 34 across the mouth.
  const image = frame((x, y) => (y === 34 && x > 26 && x < 70 ? 20 : 150 + ((x * 7 + y * 13) % 9)));
  const seam = lipSeamOf(lips(20, 30, 76, 30, 0))!;
  const moved = seamOnImage(seam, image, 6);
  const mid = moved.points.length / 2;
  const at = (k: number): number => moved.points[2 * k + 1]!;
  assert.equal(at(Math.floor(mid / 2)), 34, 'the middle of the mouth follows the gap');
  assert.equal(at(0), 30, 'the corners stay where the lips meet');
  const near = seamOnImage(seam, image, 2);
  assert.ok(
    Math.abs(near.points[2 * Math.floor(near.points.length / 4) + 1]! - 34) > 1,
    'a 2 px search cannot reach it',
  );
});

test("refineFlowLucasKanade affine steps: next to the seam, a one-sided window no longer returns its centroid's motion", () => {
  // The lips part and stretch: v grows by 0.06 px per px away from the seam on each side (the lower lip and the
  // jaw move most next to the gap). A window kept to one side sits off-centre there, by several px.
  const trueV = (y: number): number => (y < 32 ? 1.2 + 0.06 * (32 - y) : -1.2 - 0.06 * (y - 31));
  const source = frame(texture);
  const target = frame((x, y) => texture(x, y + trueV(y)));
  const sides = seamSides(lipSeamOf(lips(-40, 31.5, 136, 31.5, 0))!, W, H, { band: 40 }); // between rows 31 and 32
  const settings = { windowSigma: 6, iterations: 4, damping: 0.1, robust: 10, sides };
  // Started where a smoothed flow would be: the right shape at 75 % of the motion (within a pixel: one linear step).
  const start = createFlow(W, H);
  for (let y = 0; y < H; y++) start.data.fill(0.75 * trueV(y), W * H + y * W, W * H + (y + 1) * W);
  const constant = refineFlowLucasKanade(start, source, target, settings);
  const affine = refineFlowLucasKanade(start, source, target, { ...settings, affineSteps: 2 });
  // The bias: each row's mean error (what shifts a painted line), over the rows whose windows are one-sided.
  const bias = (f: FlowField): number => {
    let e = 0;
    for (let y = 27; y < 37; y++) {
      let row = 0;
      for (let x = 16; x < W - 16; x++) row += f.data[W * H + y * W + x]! - trueV(y);
      e += Math.abs(row / (W - 32));
    }
    return e / 10;
  };
  assert.ok(
    bias(affine) < bias(constant) * 0.75,
    `constant ${bias(constant).toFixed(4)} px, affine ${bias(affine).toFixed(4)}`,
  );
});
