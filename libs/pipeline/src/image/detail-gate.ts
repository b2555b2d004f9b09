import { createFrame, type RgbFrame } from './frame';
import { boxMean, lumaOf } from './lift-flow';
import { resampleFloat, rgbToFloat } from './resample';

/**
 * The full-size detail a lifted render keeps, pixel by pixel ({@link gateDetail}). A flow found at the working size
 * is only as precise as that size allows: carried to the source size its sub-pixel error grows by the scale, and
 * detail put back half a period off costs twice what leaving it out costs (the error of a misplaced texture is its
 * own energy plus the target's). The gate keeps the detail where it demonstrably lines up.
 */
export interface DetailGateSettings {
  /** Box radius of the local statistics, in source pixels. Default 4. */
  readonly radius: number;
  /**
   * Prior pulling the gain toward 1, in (luma levels)²: where the reference holds little detail (flat skin, where an
   * edit's own texture usually sits) there is nothing to check alignment on, and the detail is kept. Default 16.
   */
  readonly lambda: number;
}

/**
 * Chosen on lp_s18 at 1280×720 from a 512×288 working size (`bench source-res`, reconstruction at the source size,
 * 2026-12-07, when reconstructions still ran the source-size Lucas–Kanade pass): no gate 33.98 dB, {4, 16} 34.38,
 * {4, 64} 34.29, {8, 16} 34.34, {2, 4} 34.50 — and on the 720 known-motion clips' edit (`bench fidelity --size
 * 720`): {4, 16} moved it by −0.02 / −0.01 dB, {2, 4} by −0.05 on km720-s18. The edit decides: {4, 16}. Without that
 * pass (as shipped): 34.20 without the gate, 34.63 with it.
 */
export const DEFAULT_DETAIL_GATE: DetailGateSettings = { radius: 4, lambda: 16 };

/**
 * `image` with its detail above the working size's band (`x − up(down(x))`) scaled per pixel by
 * g = clamp((⟨w·t⟩ + λ) / (⟨w²⟩ + λ), 0, 1), where w is that band of `moved` (the unedited reference moved by the
 * flow that rendered `image`, luma), t that band of `current` (the target frame at source size) and ⟨·⟩ a box mean:
 * the least-squares gain of the moved detail against the frame's own. Misplaced detail fades to the smooth image
 * the working size vouches for; detail that lines up stays. The whole image's detail is gated, the edit's with the
 * reference's: an edit painted over misplaced texture moved with it, and a look's edges are the reference's edges
 * restyled. Where the reference is flat there is nothing to check, and λ keeps the detail.
 */
export function gateDetail(
  image: RgbFrame,
  moved: RgbFrame,
  current: RgbFrame,
  work: { readonly width: number; readonly height: number },
  settings: DetailGateSettings = DEFAULT_DETAIL_GATE,
): RgbFrame {
  const { width: W, height: H } = image;
  if (work.width >= W && work.height >= H) return image;
  const n = W * H;
  const w = band(lumaOf(moved), W, H, work);
  const t = band(lumaOf(current), W, H, work);
  const wt = new Float32Array(n);
  const ww = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    wt[i] = w[i]! * t[i]!;
    ww[i] = w[i]! * w[i]!;
  }
  const r = settings.radius;
  const mwt = boxMean(wt, W, H, r);
  const mww = boxMean(ww, W, H, r);
  const low = resampleFloat(resampleFloat(rgbToFloat(image), work.width, work.height), W, H).data;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    const g0 = (mwt[i]! + settings.lambda) / (mww[i]! + settings.lambda);
    const g = g0 < 0 ? 0 : g0 > 1 ? 1 : g0;
    for (let c = 0; c < 3; c++) {
      const k = 3 * i + c;
      const v = low[k]! + g * (image.data[k]! - low[k]!);
      out[k] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  }
  return createFrame(W, H, out);
}

/** `x − up(down(x))` of a luma plane in 0..1, in levels (0..255): the detail the working size cannot hold. */
function band(luma: Float32Array, W: number, H: number, work: { readonly width: number; readonly height: number }) {
  const plane = { width: W, height: H, channels: 1, data: luma };
  const low = resampleFloat(resampleFloat(plane, work.width, work.height), W, H).data;
  const out = new Float32Array(luma.length);
  for (let i = 0; i < out.length; i++) out[i] = 255 * (luma[i]! - low[i]!);
  return out;
}
