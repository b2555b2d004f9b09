import type { FaceShape } from '../landmarks/face-shape';
import { createFlow, type FlowField } from '../image/warp';

/**
 * Per pixel, how far it lies off the face: 0 inside the landmark mesh's bounding box, rising linearly to 1 at `band`
 * (a share of the face's height) outside it. `undefined` where the face or its box is not known: the face's own
 * settings then apply everywhere.
 *
 * Why: the edit flow's settings were chosen on the face — windows a share of its height, damping that keeps flat
 * skin from following codec noise. Hair, neck, clothes and background move apart from the face (a handheld selfie's
 * background swings against the head) and carry a look's edges, not painted skin; there a light damping (and, opt-in,
 * smaller windows) follow the image (docs/benchmarks.md, "Off the face, the fine pass's own damping").
 */
export function offFaceWeight(
  face: FaceShape | undefined,
  size: { readonly width: number; readonly height: number },
  band: number,
): Float32Array | undefined {
  const box = face?.box;
  if (!face || !box) return undefined;
  const { width: w, height: h } = size;
  const reach = Math.max(1, band * face.height);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const dy = Math.max(box.y0 - y, y - box.y1, 0);
    for (let x = 0; x < w; x++) {
      const d = Math.max(dy, box.x0 - x, x - box.x1);
      out[y * w + x] = d <= 0 ? 0 : Math.min(1, d / reach);
    }
  }
  return out;
}

/** `onFace` where the weight is 0, `offFace` where it is 1, linear between; the same size all three. */
export function blendOffFace(onFace: FlowField, offFace: FlowField, weight: Float32Array): FlowField {
  const { width: w, height: h } = onFace;
  const n = w * h;
  if (offFace.width !== w || offFace.height !== h || weight.length !== n) throw new RangeError('flow sizes differ');
  const out = createFlow(w, h, new Float32Array(onFace.data));
  for (let i = 0; i < n; i++) {
    const t = weight[i]!;
    if (t === 0) continue;
    out.data[i] = (1 - t) * onFace.data[i]! + t * offFace.data[i]!;
    out.data[n + i] = (1 - t) * onFace.data[n + i]! + t * offFace.data[n + i]!;
  }
  return out;
}
