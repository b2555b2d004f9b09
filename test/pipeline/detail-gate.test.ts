import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFrame, gateDetail, resampleRgb, type RgbFrame } from '@streamedit/pipeline';

const W = 80;
const H = 40;
const work = { width: 32, height: 16 };

/** Vertical stripes of period 4 source px (finer than the 32-px working size can hold), phase `shift`. */
function stripes(shift: number): RgbFrame {
  const d = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) d.fill((x + shift) % 4 < 2 ? 90 : 170, (y * W + x) * 3, (y * W + x) * 3 + 3);
  return createFrame(W, H, d);
}

/** Mean absolute difference over the inner pixels (the borders' box means are one-sided). */
function mad(a: RgbFrame, b: RgbFrame): number {
  let s = 0;
  let n = 0;
  for (let y = 6; y < H - 6; y++)
    for (let x = 6; x < W - 6; x++)
      for (let c = 0; c < 3; c++, n++) s += Math.abs(a.data[(y * W + x) * 3 + c]! - b.data[(y * W + x) * 3 + c]!);
  return s / n;
}

test('gateDetail: detail that lines up with the frame is kept', () => {
  const frame = stripes(0);
  const out = gateDetail(frame, frame, frame, work);
  assert.ok(mad(out, frame) < 0.5, `kept: off by ${mad(out, frame)}`);
});

test('gateDetail: detail half a period off the frame fades to the working size band', () => {
  const moved = stripes(2); // the reference's texture landed 2 px (half a period) off the frame's
  const out = gateDetail(moved, moved, stripes(0), work);
  const smooth = resampleRgb(resampleRgb(moved, work.width, work.height), W, H);
  assert.ok(mad(out, smooth) < 1, `faded: ${mad(out, smooth)} from the smooth band`);
  assert.ok(mad(moved, smooth) > 30, 'the stripes were detail above the working band');
  // Fading it is the better guess: the smooth band is nearer the true frame than misplaced stripes.
  assert.ok(mad(out, stripes(0)) < mad(moved, stripes(0)) / 1.5);
});

test('gateDetail: an edit over a flat reference keeps its detail (nothing there to check it against)', () => {
  const flat = createFrame(W, H, new Uint8Array(W * H * 3).fill(128));
  const edit = stripes(1);
  const out = gateDetail(edit, flat, flat, work);
  assert.ok(mad(out, edit) < 0.5, `kept: off by ${mad(out, edit)}`);
});

test('gateDetail: at the working size there is no finer band, and the image is returned as it is', () => {
  const f = stripes(0);
  assert.equal(gateDetail(f, stripes(2), f, { width: W, height: H }), f);
});
