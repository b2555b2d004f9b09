import { createFrame, type RgbFrame } from './frame';

/**
 * Resizes an RGB frame with bilinear sampling at half-pixel centres; when shrinking by more than 2× it first
 * box-averages so small sizes do not alias.
 */
export function resizeRgb(src: RgbFrame, width: number, height: number): RgbFrame {
  if (src.width === width && src.height === height) return src;
  let cur = src;
  while (cur.width >= 2 * width && cur.height >= 2 * height) cur = halve(cur);
  const out = new Uint8Array(width * height * 3);
  const sx = cur.width / width;
  const sy = cur.height / height;
  const d = cur.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), cur.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, cur.height - 1);
    const ay = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), cur.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, cur.width - 1);
      const ax = fx - x0;
      for (let c = 0; c < 3; c++) {
        const top = d[(y0 * cur.width + x0) * 3 + c]! * (1 - ax) + d[(y0 * cur.width + x1) * 3 + c]! * ax;
        const bot = d[(y1 * cur.width + x0) * 3 + c]! * (1 - ax) + d[(y1 * cur.width + x1) * 3 + c]! * ax;
        out[(y * width + x) * 3 + c] = Math.round(top * (1 - ay) + bot * ay);
      }
    }
  }
  return createFrame(width, height, out);
}

function halve(src: RgbFrame): RgbFrame {
  const w = src.width >> 1;
  const h = src.height >> 1;
  const out = new Uint8Array(w * h * 3);
  const d = src.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const a = ((2 * y) * src.width + 2 * x) * 3 + c;
        const b = ((2 * y + 1) * src.width + 2 * x) * 3 + c;
        out[(y * w + x) * 3 + c] = (d[a]! + d[a + 3]! + d[b]! + d[b + 3]! + 2) >> 2;
      }
    }
  }
  return createFrame(w, h, out);
}
