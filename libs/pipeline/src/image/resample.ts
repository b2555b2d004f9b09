import { createFrame, type RgbFrame } from './frame';

/**
 * Float image resampling between the working size and the source size: interleaved channels
 * (`data[(y·width + x)·channels + c]`), any channel count. Downscaling averages exact pixel areas (as ffmpeg's
 * `flags=area` and cv2.INTER_AREA), upscaling is bilinear at half-pixel centres (as `align_corners=False`), so a
 * working-size image and its source-size counterpart line up pixel centre on pixel centre.
 */
export interface FloatPixels {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** One output pixel's source taps along an axis: first index and weights (summing to 1). */
interface Taps {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float32Array;
  readonly stride: number;
}

/** 1-D taps from `n` source pixels to `m` output pixels (area when shrinking, bilinear when enlarging). */
function taps(n: number, m: number): Taps {
  const scale = n / m;
  const stride = scale > 1 ? Math.ceil(scale) + 1 : 2;
  const first = new Int32Array(m);
  const count = new Int32Array(m);
  const weights = new Float32Array(m * stride);
  for (let o = 0; o < m; o++) {
    if (scale > 1) {
      const a = o * scale;
      const b = a + scale;
      const i0 = Math.floor(a);
      let k = 0;
      for (let i = i0; i < b && i < n; i++, k++)
        weights[o * stride + k] = (Math.min(b, i + 1) - Math.max(a, i)) / scale;
      first[o] = i0;
      count[o] = k;
    } else {
      const f = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), n - 1);
      const i0 = Math.floor(f);
      const t = f - i0;
      first[o] = i0;
      count[o] = i0 + 1 < n ? 2 : 1;
      weights[o * stride] = count[o] === 2 ? 1 - t : 1;
      weights[o * stride + 1] = count[o] === 2 ? t : 0;
    }
  }
  return { first, count, weights, stride };
}

/** Resamples float pixels to `width`×`height` (separable: rows, then columns). */
export function resampleFloat(src: FloatPixels, width: number, height: number): FloatPixels {
  const { width: w0, height: h0, channels: ch, data } = src;
  if (w0 === width && h0 === height) return src;
  const tx = taps(w0, width);
  const ty = taps(h0, height);
  const mid = new Float32Array(width * h0 * ch);
  for (let y = 0; y < h0; y++) {
    const row = y * w0 * ch;
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * ch;
      const k0 = x * tx.stride;
      for (let k = 0; k < tx.count[x]!; k++) {
        const wt = tx.weights[k0 + k]!;
        const s = row + (tx.first[x]! + k) * ch;
        for (let c = 0; c < ch; c++) mid[o + c] = mid[o + c]! + wt * data[s + c]!;
      }
    }
  }
  const out = new Float32Array(width * height * ch);
  const rowLen = width * ch;
  for (let y = 0; y < height; y++) {
    const o = y * rowLen;
    const k0 = y * ty.stride;
    for (let k = 0; k < ty.count[y]!; k++) {
      const wt = ty.weights[k0 + k]!;
      const s = (ty.first[y]! + k) * rowLen;
      for (let i = 0; i < rowLen; i++) out[o + i] = out[o + i]! + wt * mid[s + i]!;
    }
  }
  return { width, height, channels: ch, data: out };
}

/** An RGB frame as float pixels (0..255). */
export function rgbToFloat(frame: RgbFrame): FloatPixels {
  return { width: frame.width, height: frame.height, channels: 3, data: Float32Array.from(frame.data) };
}

/** Float pixels (3 channels, 0..255) as an RGB frame, rounded and clamped. */
export function floatToRgb(px: FloatPixels): RgbFrame {
  const out = new Uint8Array(px.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clamp8(px.data[i]!);
  return createFrame(px.width, px.height, out);
}

/** Resamples an RGB frame (area down, bilinear up). */
export function resampleRgb(frame: RgbFrame, width: number, height: number): RgbFrame {
  if (frame.width === width && frame.height === height) return frame;
  return floatToRgb(resampleFloat(rgbToFloat(frame), width, height));
}

/** `a − b`, per value, as float pixels (the two frames must have the same size). */
export function difference(a: RgbFrame, b: RgbFrame): FloatPixels {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError('difference of frames of different sizes');
  const d = new Float32Array(a.data.length);
  for (let i = 0; i < d.length; i++) d[i] = a.data[i]! - b.data[i]!;
  return { width: a.width, height: a.height, channels: 3, data: d };
}

/**
 * `base + resample(edited − original)`: an edit made at one size carried to another size of the same picture. The
 * target keeps its own detail wherever nothing was edited (the delta is 0 there), which plain resizing would blur
 * (upscaling) or alias (downscaling).
 */
export function transferEdit(original: RgbFrame, edited: RgbFrame, base: RgbFrame): RgbFrame {
  if (original.width === base.width && original.height === base.height && original.data === base.data) return edited;
  const delta = resampleFloat(difference(edited, original), base.width, base.height);
  const out = new Uint8Array(base.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clamp8(base.data[i]! + delta.data[i]!);
  return createFrame(base.width, base.height, out);
}

/**
 * `upscaled + (full − upscaleBicubic(working))`: a working-size result brought to the source size with the full-size
 * frame's own detail above the working size put back exactly, its working-size error kept. What the naive way
 * (`upscaled` = the result bicubic-upscaled) would score were every such detail in place: the most a lift can add
 * over it by detail alone (`bench source-res`).
 * @param working the frame at the working size, as the correspondence saw it (the band below is its upscale)
 */
export function withExactDetail(upscaled: RgbFrame, full: RgbFrame, working: RgbFrame): RgbFrame {
  if (upscaled.width !== full.width || upscaled.height !== full.height)
    throw new RangeError(`a ${upscaled.width}×${upscaled.height} result for a ${full.width}×${full.height} frame`);
  const band = upscaleBicubic(working, full.width, full.height).data;
  const out = new Uint8Array(full.data.length);
  for (let i = 0; i < out.length; i++) out[i] = clamp8(upscaled.data[i]! + full.data[i]! - band[i]!);
  return createFrame(full.width, full.height, out);
}

/** Bicubic (Keys, a = −0.5) upscale of an RGB frame at half-pixel centres: the "naive" way to reach the source size. */
export function upscaleBicubic(frame: RgbFrame, width: number, height: number): RgbFrame {
  const { width: w0, height: h0, data } = frame;
  const kernel = (t: number): number => {
    const a = -0.5;
    const x = Math.abs(t);
    if (x <= 1) return (a + 2) * x * x * x - (a + 3) * x * x + 1;
    if (x < 2) return a * x * x * x - 5 * a * x * x + 8 * a * x - 4 * a;
    return 0;
  };
  const axis = (n: number, m: number) => {
    const idx = new Int32Array(m * 4);
    const wts = new Float32Array(m * 4);
    for (let o = 0; o < m; o++) {
      const f = (o + 0.5) * (n / m) - 0.5;
      const i0 = Math.floor(f);
      for (let k = 0; k < 4; k++) {
        const i = i0 - 1 + k;
        idx[o * 4 + k] = Math.min(Math.max(i, 0), n - 1);
        wts[o * 4 + k] = kernel(f - i);
      }
    }
    return { idx, wts };
  };
  const ax = axis(w0, width);
  const ay = axis(h0, height);
  const mid = new Float32Array(width * h0 * 3);
  for (let y = 0; y < h0; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) {
        const s = (y * w0 + ax.idx[x * 4 + k]!) * 3;
        const wt = ax.wts[x * 4 + k]!;
        const o = (y * width + x) * 3;
        mid[o] = mid[o]! + wt * data[s]!;
        mid[o + 1] = mid[o + 1]! + wt * data[s + 1]!;
        mid[o + 2] = mid[o + 2]! + wt * data[s + 2]!;
      }
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0,
        g = 0,
        b = 0;
      for (let k = 0; k < 4; k++) {
        const s = (ay.idx[y * 4 + k]! * width + x) * 3;
        const wt = ay.wts[y * 4 + k]!;
        r += wt * mid[s]!;
        g += wt * mid[s + 1]!;
        b += wt * mid[s + 2]!;
      }
      const o = (y * width + x) * 3;
      out[o] = clamp8(r);
      out[o + 1] = clamp8(g);
      out[o + 2] = clamp8(b);
    }
  }
  return createFrame(width, height, out);
}

const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));
