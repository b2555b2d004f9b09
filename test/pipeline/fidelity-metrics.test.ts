import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Auroc, addSigmaCalibration, createFrame, dotCentroid, quantile, regionPsnr } from '@streamedit/pipeline';

const auroc = (pos: number[], neg: number[]): number | undefined => {
  const a = new Auroc();
  pos.forEach((s) => a.add(s, true));
  neg.forEach((s) => a.add(s, false));
  return a.value();
};

test('AUROC: 1 when positives score higher, 0 when lower, 0.5 for ties, the pair fraction otherwise', () => {
  assert.equal(auroc([0.3, 0.5], [0.01, 0.02]), 1);
  assert.equal(auroc([0.01, 0.02], [0.3, 0.5]), 0);
  assert.equal(auroc([0.1, 0.1], [0.1]), 0.5);
  // Pairs (pos > neg): 0.3>0.2, 0.3>0.05, 0.1>0.05; 0.1<0.2 → 3 of 4.
  assert.equal(auroc([0.3, 0.1], [0.2, 0.05]), 0.75);
  assert.equal(auroc([0.3], []), undefined);
});

test('σ calibration counts edited-region pixels with error > 10/255 and disoccluded pixels as positives', () => {
  const truth = createFrame(4, 1, new Uint8Array(12).fill(100));
  const out = createFrame(4, 1, new Uint8Array([100, 100, 100, 130, 130, 130, 100, 100, 100, 0, 0, 0]));
  const a = new Auroc();
  addSigmaCalibration(a, {
    output: out,
    truth,
    region: new Uint8Array([1, 1, 0, 0]),
    valid: new Uint8Array([1, 1, 1, 2]),
    sigma: { width: 4, height: 1, data: new Float32Array([0.01, 0.2, 0.9, 0.3]) },
  });
  // Pixel 2 is outside the region and valid: not counted. Positives: pixel 1 (error 30), pixel 3 (disoccluded).
  assert.equal(a.positives, 2);
  assert.equal(a.negatives, 1);
  assert.equal(a.value(), 1);
});

test('region PSNR is over the region only', () => {
  const a = createFrame(2, 2, new Uint8Array(12).fill(50));
  const bData = new Uint8Array(12).fill(50);
  bData[0] = 60; // pixel 0, red: off by 10
  bData[9] = 0; // pixel 3: outside the region
  const b = createFrame(2, 2, bData);
  const region = new Uint8Array([1, 1, 0, 0]);
  const expected = 10 * Math.log10((255 * 255) / (100 / 6));
  assert.ok(Math.abs(regionPsnr(a, b, region)! - expected) < 1e-9);
  assert.equal(regionPsnr(a, b, new Uint8Array(4)), undefined);
});

test('a dot centroid is found to a fraction of a pixel, skin and grey around it ignored; drift quantiles', () => {
  const w = 48;
  const d = new Uint8Array(w * w * 3);
  for (let i = 0; i < w * w; i++) d.set(i % 7 ? [200, 150, 130] : [128, 128, 128], 3 * i);
  const cx = 20.3;
  const cy = 25.6;
  for (let y = 0; y < w; y++)
    for (let x = 0; x < w; x++) {
      let cover = 0;
      for (let s = 0; s < 16; s++)
        cover += (x - 0.375 + (s % 4) * 0.25 - cx) ** 2 + (y - 0.375 + (s >> 2) * 0.25 - cy) ** 2 <= 9 ? 1 : 0;
      const a = cover / 16;
      const p = 3 * (y * w + x);
      d[p] = Math.round(d[p]! * (1 - a) + 0 * a);
      d[p + 1] = Math.round(d[p + 1]! * (1 - a) + 255 * a);
      d[p + 2] = Math.round(d[p + 2]! * (1 - a) + 0 * a);
    }
  const c = dotCentroid(createFrame(w, w, d), [0, 255, 0], { x: 24, y: 22 }, 15);
  assert.ok(c && Math.hypot(c.x - cx, c.y - cy) < 0.1, `centroid ${JSON.stringify(c)}`);
  assert.equal(dotCentroid(createFrame(w, w, d), [255, 0, 255], { x: 24, y: 22 }, 15), undefined);
  assert.equal(quantile([4, 1, 3, 2], 0.5), 2.5);
  assert.ok(Math.abs(quantile([0, 10], 0.95) - 9.5) < 1e-12);
});
