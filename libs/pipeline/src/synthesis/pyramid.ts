/** Image and mask pyramids for coarse-to-fine synthesis: level l has size ceil(W / 2^l) × ceil(H / 2^l). */

/** An interleaved float image (RGB 0..255 here). */
export interface FloatRgb {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

export function toFloatRgb(width: number, height: number, data: Uint8Array): FloatRgb {
  return { width, height, data: Float32Array.from(data) };
}

/** Halves an interleaved 3-channel image with a 2×2 box filter (odd edges average what exists). */
export function downsampleRgb(img: FloatRgb): FloatRgb {
  const w2 = (img.width + 1) >> 1;
  const h2 = (img.height + 1) >> 1;
  const out = new Float32Array(w2 * h2 * 3);
  const { width: w, height: h, data } = img;
  for (let y = 0; y < h2; y++) {
    const ya = 2 * y;
    const yb = Math.min(ya + 1, h - 1);
    for (let x = 0; x < w2; x++) {
      const xa = 2 * x;
      const xb = Math.min(xa + 1, w - 1);
      const a = (ya * w + xa) * 3;
      const b = (ya * w + xb) * 3;
      const c = (yb * w + xa) * 3;
      const d = (yb * w + xb) * 3;
      const o = (y * w2 + x) * 3;
      for (let k = 0; k < 3; k++) out[o + k] = 0.25 * (data[a + k]! + data[b + k]! + data[c + k]! + data[d + k]!);
    }
  }
  return { width: w2, height: h2, data: out };
}

/** Builds `levels` images, index 0 the finest. */
export function rgbPyramid(img: FloatRgb, levels: number): FloatRgb[] {
  const out = [img];
  for (let l = 1; l < levels; l++) out.push(downsampleRgb(out[l - 1]!));
  return out;
}

/** Halves a mask: a coarse pixel is set when any of its (up to four) children is. */
export function downsampleMask(mask: Uint8Array, w: number, h: number): Uint8Array {
  const w2 = (w + 1) >> 1;
  const h2 = (h + 1) >> 1;
  const out = new Uint8Array(w2 * h2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) if (mask[y * w + x]) out[(y >> 1) * w2 + (x >> 1)] = 1;
  }
  return out;
}

/** Square dilation of a mask by `r` pixels (separable running max). */
export function dilateMask(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  const tmp = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    let last = -Infinity; // x of the last set pixel seen, so each output is O(1)
    for (let x = 0; x < w + r; x++) {
      if (x < w && mask[y * w + x]) last = x;
      const o = x - r; // window [o − r, o + r] has been scanned up to o + r = x
      if (o >= 0 && x - last <= 2 * r) tmp[y * w + o] = 1;
    }
  }
  const out = new Uint8Array(w * h);
  for (let x = 0; x < w; x++) {
    let last = -Infinity;
    for (let y = 0; y < h + r; y++) {
      if (y < h && tmp[y * w + x]) last = y;
      const o = y - r;
      if (o >= 0 && y - last <= 2 * r) out[o * w + x] = 1;
    }
  }
  return out;
}

/** Row-major indices of the set pixels of a mask. */
export function maskIndices(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}
