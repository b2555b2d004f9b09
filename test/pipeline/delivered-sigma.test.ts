import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFrame, deliveredSigma, renderPropagatedFrame, createFlow, type FloatImage } from '@streamedit/pipeline';

const W = 8;
const H = 4;
const flat = (v: number): FloatImage => ({ width: W, height: H, data: new Float32Array(W * H).fill(v) });
/** A vertical edge between columns 3 and 4 (0 → 200 in every channel). */
const edge = createFrame(
  W,
  H,
  Uint8Array.from({ length: W * H * 3 }, (_, k) => (Math.floor(k / 3) % W >= 4 ? 200 : 0)),
);

test('deliveredSigma: the correspondence σ on flat edits and outside the edit, plus flow error × edit gradient on its edges', () => {
  const sigma = flat(0.02);
  const all = new Float32Array(W * H).fill(1);
  const out = deliveredSigma(sigma, edge, all, 0.5);
  // Column 0 and 7: flat → σ unchanged. Columns 3 and 4: central difference 200/255/2 per px, times 0.5 px.
  for (let y = 0; y < H; y++) {
    assert.ok(Math.abs(out.data[y * W]! - 0.02) < 1e-6);
    assert.ok(Math.abs(out.data[y * W + 7]! - 0.02) < 1e-6);
    const g = (200 / 255 / 2) * 0.5;
    assert.ok(Math.abs(out.data[y * W + 3]! - Math.hypot(0.02, g)) < 1e-6, `edge pixel ${out.data[y * W + 3]}`);
  }
  // Where the edit does not apply (weight 0) the output is the real frame: only σ remains.
  const none = deliveredSigma(sigma, edge, new Float32Array(W * H), 0.5);
  assert.deepEqual([...none.data], [...sigma.data]);
  // A larger expected flow error raises the edge pixels only.
  const more = deliveredSigma(sigma, edge, all, 1);
  assert.ok(more.data[3]! > out.data[3]! && more.data[0] === out.data[0]);
  assert.throws(() => deliveredSigma(flat(0), createFrame(2, 2), all), /deliveredSigma/);
});

test('renderPropagatedFrame reports the delivered σ beside the correspondence σ', async () => {
  const original = createFrame(W, H, new Uint8Array(W * H * 3).fill(100));
  const rendered = await renderPropagatedFrame(
    {
      ref: { index: 0, original, edited: edge },
      current: original,
      correspondence: { flow: createFlow(W, H), sigma: flat(0.01) },
      weights: new Float32Array(W * H).fill(1),
    },
    { tau: 0.08, synthesis: 'off', editRegion: 'full', flowErrorPx: 0.4 },
  );
  assert.deepEqual([...rendered.sigma!.data], [...flat(0.01).data]);
  assert.ok(rendered.outputSigma!.data[3]! > 0.1, 'edge of the edit flagged');
  assert.ok(Math.abs(rendered.outputSigma!.data[0]! - 0.01) < 1e-6, 'flat edit keeps the correspondence σ');
});

test("renderPropagatedFrame at the source size: the delivered σ is at the source size, on the full-size edit's own edges", async () => {
  // Working 8×4, source 16×8; the full-size edit has an edge between columns 5 and 6 that the working-size edit
  // does not show (its edit is flat): only a σ computed at the source size can flag it.
  const original = createFrame(W, H, new Uint8Array(W * H * 3).fill(100));
  const flatEdit = createFrame(W, H, new Uint8Array(W * H * 3).fill(150));
  const originalFull = createFrame(2 * W, 2 * H, new Uint8Array(4 * W * H * 3).fill(100));
  const editedFull = createFrame(
    2 * W,
    2 * H,
    Uint8Array.from({ length: 4 * W * H * 3 }, (_, k) => (Math.floor(k / 3) % (2 * W) >= 6 ? 220 : 20)),
  );
  const rendered = await renderPropagatedFrame(
    {
      ref: { index: 0, original, edited: flatEdit, source: { original: originalFull, edited: editedFull } },
      current: original,
      correspondence: { flow: createFlow(W, H), sigma: flat(0.01) },
      weights: new Float32Array(W * H).fill(1),
      source: { current: originalFull, weights: new Float32Array(4 * W * H).fill(1) },
    },
    { tau: 0.08, synthesis: 'off', editRegion: 'full', flowErrorPx: 0.4, sourceRefine: 'off' },
  );
  const s = rendered.outputSigma!;
  assert.deepEqual([s.width, s.height], [2 * W, 2 * H]);
  assert.ok(s.data[2 * W + 5]! > 0.3, `edge at the source size flagged: ${s.data[2 * W + 5]}`);
  assert.ok(Math.abs(s.data[2 * W + 1]! - 0.01) < 1e-6, 'flat part keeps the correspondence σ');
  assert.deepEqual(
    [rendered.sigma!.width, rendered.sigma!.height],
    [W, H],
    'the correspondence σ stays at working size',
  );
});
