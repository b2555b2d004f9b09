import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createFlow, createFrame, DEFAULT_EDIT_FLOW, type FlowField, type RgbFrame } from '@streamedit/pipeline';
import { windowFrames } from '@streamedit/pipeline/job/window-frames';

const W = 64;
const H = 48;
/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

test("windowFrames: the fine pass runs after the trajectory fit, so a frame's own thin-structure motion survives the temporal smoothing", async () => {
  // A dark 2-px line over flat, noisy skin that jitters: +0.8 px in odd frames, 0 in even ones (a glasses rim that
  // shakes). The correspondence says 0 everywhere. A trajectory fit over ±8 frames averages the jitter to ~0.4 px;
  // only a per-frame pass *after* the fit can give each frame its own.
  const r = rng(11);
  const shiftOf = (t: number): number => (t % 2 === 1 ? 0.5 : 0);
  const at = (t: number): RgbFrame => {
    const shift = shiftOf(t);
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const cover = Math.max(0, Math.min(1, x + 1 - (30 + shift))) - Math.max(0, Math.min(1, x + 1 - (32 + shift)));
        const v = Math.round(120 - 90 * cover + (r() - 0.5) * 8);
        for (let c = 0; c < 3; c++) data[3 * (y * W + x) + c] = v;
      }
    return createFrame(W, H, data);
  };
  const frames = Array.from({ length: 12 }, (_, t) => at(t));
  const zero = (): FlowField => createFlow(W, H);
  const edited = createFrame(W, H, new Uint8Array(W * H * 3).fill(200));
  const ref = { index: 0, original: frames[0]!, edited };
  const input = {
    frameAt: async (t: number) => frames[t]!,
    correspondence: { between: async (_ref: number, _cur: number) => ({ flow: zero() }) },
  };
  // The toy-size windows of the edit-flow tests: the face-sized pass coarse (σ 6 px), the fine one σ 2 px.
  const editFlow = { ...DEFAULT_EDIT_FLOW, refineWindowPx: 48, refineWindowFace: 0, fineWindowPx: 16 };
  const lineError = (f: FlowField, t: number): number => {
    let e = 0;
    for (let y = 8; y < H - 8; y++) for (const x of [30, 31, 32]) e += Math.abs(f.data[y * W + x]! + shiftOf(t));
    return e / (3 * (H - 16));
  };
  const errors = async (fineIterations?: number): Promise<number[]> => {
    const out: number[] = [];
    const settings = fineIterations === undefined ? editFlow : { ...editFlow, fineIterations };
    for await (const f of windowFrames(input, { start: 0, end: frames.length }, ref, { editFlow: settings })) {
      if (f.t === 0) continue;
      assert.ok(f.layerFlow, `frame ${f.t} has a smoothed edit flow`);
      out.push(lineError(f.layerFlow, f.t));
    }
    return out;
  };
  const withFine = await errors();
  const withoutFine = await errors(0);
  const mean = (a: number[]): number => a.reduce((s, v) => s + v, 0) / a.length;
  const moved = (a: number[]): number[] => a.filter((_, i) => shiftOf(i + 1) > 0);
  const still = (a: number[]): number[] => a.filter((_, i) => shiftOf(i + 1) === 0);
  assert.ok(
    mean(moved(withFine)) < 0.6 * mean(moved(withoutFine)),
    `frames where the line moved: ${mean(moved(withFine)).toFixed(3)} px off with the fine pass, ` +
      `${mean(moved(withoutFine)).toFixed(3)} without`,
  );
  // Where the line did not move, the fine pass invents no motion (nor does the fit carry the neighbours' over).
  assert.ok(Math.max(...still(withFine)) < 0.06, `still frames: up to ${Math.max(...still(withFine)).toFixed(3)} px`);
});
