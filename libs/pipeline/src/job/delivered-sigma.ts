import type { FloatImage, RgbFrame } from '../image/frame';

/**
 * The typical sub-pixel error of the correspondence (px) that {@link deliveredSigma} carries into intensity.
 * Median flow error inside the edited region on the known-motion clips of `bench fidelity` (docs/benchmarks.md).
 */
export const DEFAULT_FLOW_ERROR_PX = 0.4;

/**
 * σ of each delivered pixel (0..1 intensity), at working size: the correspondence's σ (photometric: occlusions, a
 * mouth that opens) combined with the flow's own sub-pixel error carried through the edit, to first order:
 *
 *   σ_out = √(σ² + (w · |∇E| · δ)²)
 *
 * with E the propagated edit (0..1), |∇E| its largest per-channel central-difference gradient, w the composite
 * weight of the edit and δ = `flowErrorPx`. A flow that is right to 0.4 px still moves a checkerboard edge by 0.4 px:
 * on flat skin under a flat edit that costs nothing, on the edge of a stroke it is the whole error. σ alone cannot
 * know it — it never sees the edit — so the output's σ is this one, and σ itself keeps driving synthesis and ARR.
 */
export function deliveredSigma(
  sigma: FloatImage,
  edit: RgbFrame,
  weights: Float32Array,
  flowErrorPx: number = DEFAULT_FLOW_ERROR_PX,
): FloatImage {
  const { width: w, height: h } = edit;
  if (sigma.width !== w || sigma.height !== h || weights.length !== w * h)
    throw new RangeError(`deliveredSigma: σ ${sigma.width}×${sigma.height}, edit ${w}×${h}, ${weights.length} weights`);
  const out: FloatImage = { width: w, height: h, data: new Float32Array(w * h) };
  const d = edit.data;
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const down = Math.min(h - 1, y + 1) * w;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const s = sigma.data[i]!;
      const wt = weights[i]!;
      if (wt <= 0) {
        out.data[i] = s;
        continue;
      }
      const left = y * w + Math.max(0, x - 1);
      const right = y * w + Math.min(w - 1, x + 1);
      let g2 = 0;
      for (let c = 0; c < 3; c++) {
        const gx = (d[3 * right + c]! - d[3 * left + c]!) / 510;
        const gy = (d[3 * (down + x) + c]! - d[3 * (up + x) + c]!) / 510;
        g2 = Math.max(g2, gx * gx + gy * gy);
      }
      const e = wt * flowErrorPx;
      out.data[i] = Math.sqrt(s * s + e * e * g2);
    }
  }
  return out;
}
