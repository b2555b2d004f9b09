import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxMean } from '@streamedit/pipeline';

/** The clamped box mean summed directly, pixel by pixel (what the running sums must agree with). */
function direct(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let count = 0;
      for (let v = Math.max(0, y - r); v <= Math.min(h - 1, y + r); v++)
        for (let u = Math.max(0, x - r); u <= Math.min(w - 1, x + r); u++) {
          sum += src[v * w + u]!;
          count++;
        }
      out[y * w + x] = sum / count;
    }
  return out;
}

function noise(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = (s / 2147483648) * 255;
  }
  return out;
}

test('boxMean: equals the directly summed clamped box, at the edges, on narrow images and with r past the image', () => {
  const sizes: Array<[number, number]> = [
    [1, 1],
    [9, 1],
    [1, 9],
    [2, 3],
    [7, 5],
    [33, 17],
    [40, 3],
  ];
  for (const [w, h] of sizes)
    for (const r of [0, 1, 2, 4, 7, 20]) {
      const src = noise(w * h, w * 31 + h * 7 + r);
      const got = boxMean(src, w, h, r);
      const want = direct(src, w, h, r);
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `${w}×${h} r ${r} pixel ${i}: ${got[i]} vs ${want[i]}`);
    }
});

test('boxMean: calls of other sizes in between change neither a result nor the next one (the scratch buffer is shared)', () => {
  const big = noise(64 * 48, 1);
  const first = boxMean(big, 64, 48, 5);
  const copy = Float32Array.from(first);
  boxMean(noise(9 * 4, 2), 9, 4, 2);
  boxMean(noise(100 * 100, 3), 100, 100, 9);
  assert.deepEqual(first, copy, 'a returned array is never reused');
  assert.deepEqual(boxMean(big, 64, 48, 5), copy);
});
