import type { FloatImage, RgbFrame } from '../image/frame';
import { resizeFlow, type FlowField } from '../image/warp';

/**
 * Box-filter resize of planar float channels `[C, H, W]` → `[C, height, width]`, with torch's 'area' bins
 * (adaptive average pooling: output i averages source [floor(i·S/D), ceil((i+1)·S/D))), so TypeScript feeds the
 * model exactly what the trainer saw (python/streamedit_trainer/warp.py `area_resize`; pinned by a parity test).
 */
export function resizeAreaPlanar(
  src: Float32Array,
  channels: number,
  srcWidth: number,
  srcHeight: number,
  width: number,
  height: number,
): Float32Array {
  if (src.length !== channels * srcWidth * srcHeight)
    throw new RangeError(`source needs ${channels}×${srcHeight}×${srcWidth} values`);
  const xs = bins(srcWidth, width);
  const ys = bins(srcHeight, height);
  const out = new Float32Array(channels * width * height);
  for (let c = 0; c < channels; c++) {
    const plane = c * srcWidth * srcHeight;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let sy = ys.start[y]!; sy < ys.end[y]!; sy++) {
          const row = plane + sy * srcWidth;
          for (let sx = xs.start[x]!; sx < xs.end[x]!; sx++) sum += src[row + sx]!;
        }
        out[(c * height + y) * width + x] = sum / ((ys.end[y]! - ys.start[y]!) * (xs.end[x]! - xs.start[x]!));
      }
    }
  }
  return out;
}

function bins(src: number, dst: number): { start: Int32Array; end: Int32Array } {
  const start = new Int32Array(dst);
  const end = new Int32Array(dst);
  for (let i = 0; i < dst; i++) {
    start[i] = Math.floor((i * src) / dst);
    end[i] = Math.ceil(((i + 1) * src) / dst);
  }
  return { start, end };
}

/** Interleaved 8-bit RGB → planar float `[3, H, W]` in 0..1. */
export function rgbToPlanar(frame: RgbFrame): Float32Array {
  const hw = frame.width * frame.height;
  const out = new Float32Array(3 * hw);
  for (let i = 0; i < hw; i++) {
    out[i] = frame.data[3 * i]! / 255;
    out[hw + i] = frame.data[3 * i + 1]! / 255;
    out[2 * hw + i] = frame.data[3 * i + 2]! / 255;
  }
  return out;
}

/** A frame as the model's `ref_image`/`cur_image`: planar RGB 0..1 `[3, height, width]`, area-resized. */
export function frameToModelInput(frame: RgbFrame, width: number, height: number): Float32Array {
  return resizeAreaPlanar(rgbToPlanar(frame), 3, frame.width, frame.height, width, height);
}

/** Bilinear resize of a single-channel image (half-pixel centres, edges clamped, like torch align_corners=False). */
export function resizeFloatImage(image: FloatImage, width: number, height: number): FloatImage {
  if (image.width === width && image.height === height) return image;
  const { width: sw, height: sh, data } = image;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * (sh / height) - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const ay = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * (sw / width) - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const ax = fx - x0;
      const top = data[y0 * sw + x0]! * (1 - ax) + data[y0 * sw + x1]! * ax;
      const bottom = data[y1 * sw + x0]! * (1 - ax) + data[y1 * sw + x1]! * ax;
      out[y * width + x] = top * (1 - ay) + bottom * ay;
    }
  }
  return { width, height, data: out };
}

/**
 * A prediction lifted to working size: the flow by `resizeFlow` (displacements rescaled), σ bilinearly.
 * This is how the reconstruction protocol warps the full-size reference (`backwardWarpRgb`).
 */
export function toWorkingSize(
  flow: FlowField,
  sigma: FloatImage,
  width: number,
  height: number,
): { flow: FlowField; sigma: FloatImage } {
  return { flow: resizeFlow(flow, width, height), sigma: resizeFloatImage(sigma, width, height) };
}
