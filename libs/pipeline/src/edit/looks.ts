import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';

/**
 * Built-in looks: edits that need no asset, so a user (and the quickstart) can edit a clip with nothing supplied.
 * Each is a pure function of the keyframe; the pipeline propagates the result like any user edit.
 */
export interface Look {
  readonly name: string;
  readonly description: string;
  apply(frame: RgbFrame): RgbFrame;
}

const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;
const clamp8 = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

/** Edge-preserving smoothing: a few passes of a 5×5 bilateral filter with a small range σ (flat colour regions). */
function bilateral(frame: RgbFrame, passes: number, sigmaRange: number): Uint8Array {
  const { width: w, height: h } = frame;
  let src = frame.data;
  const rangeLut = new Float32Array(256 * 3 + 1);
  for (let d = 0; d < rangeLut.length; d++) rangeLut[d] = Math.exp(-(d * d) / (2 * sigmaRange * sigmaRange));
  for (let p = 0; p < passes; p++) {
    const out = new Uint8Array(src.length);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        let sr = 0, sg = 0, sb = 0, sw = 0;
        for (let dy = -2; dy <= 2; dy++) {
          const yy = Math.min(h - 1, Math.max(0, y + dy));
          for (let dx = -2; dx <= 2; dx++) {
            const xx = Math.min(w - 1, Math.max(0, x + dx));
            const j = (yy * w + xx) * 3;
            const d = Math.abs(src[j]! - src[i]!) + Math.abs(src[j + 1]! - src[i + 1]!) + Math.abs(src[j + 2]! - src[i + 2]!);
            const wt = rangeLut[d]! * (dx * dx + dy * dy <= 4 ? 1 : 0.5);
            sr += src[j]! * wt; sg += src[j + 1]! * wt; sb += src[j + 2]! * wt; sw += wt;
          }
        }
        out[i] = sr / sw; out[i + 1] = sg / sw; out[i + 2] = sb / sw;
      }
    }
    src = out;
  }
  return src;
}

/** Edge strength in 0..1 from a Sobel filter on luma. */
function edges(data: Uint8Array, w: number, h: number): Float32Array {
  const l = new Float32Array(w * h);
  for (let i = 0; i < w * h; i++) l[i] = luma(data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!);
  const e = new Float32Array(w * h);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = y * w + x;
      const gx = l[i - w + 1]! + 2 * l[i + 1]! + l[i + w + 1]! - l[i - w - 1]! - 2 * l[i - 1]! - l[i + w - 1]!;
      const gy = l[i + w - 1]! + 2 * l[i + w]! + l[i + w + 1]! - l[i - w - 1]! - 2 * l[i - w]! - l[i - w + 1]!;
      e[i] = Math.min(1, Math.max(0, (Math.hypot(gx, gy) - 60) / 120));
    }
  }
  return e;
}

const cartoon: Look = {
  name: 'cartoon',
  description: 'flat colour regions with dark ink outlines (bilateral smoothing, colour quantisation, Sobel edges)',
  apply(frame) {
    const { width: w, height: h } = frame;
    const smooth = bilateral(frame, 3, 18);
    const ink = edges(smooth, w, h);
    const out = new Uint8Array(smooth.length);
    const levels = 6;
    const step = 255 / (levels - 1);
    for (let i = 0; i < w * h; i++) {
      const k = 1 - 0.85 * ink[i]!;
      for (let c = 0; c < 3; c++) {
        const v = smooth[i * 3 + c]!;
        // Soft quantisation keeps gradients readable while flattening them into bands.
        const q = Math.round(v / step) * step;
        out[i * 3 + c] = clamp8((0.7 * q + 0.3 * v) * 1.08 * k);
      }
    }
    return createFrame(w, h, out);
  },
};

const vintage: Look = {
  name: 'vintage',
  description: 'warm sepia film tone with faded blacks and a soft vignette',
  apply(frame) {
    const { width: w, height: h, data } = frame;
    const out = new Uint8Array(data.length);
    const cx = w / 2, cy = h / 2, rmax = Math.hypot(cx, cy);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        const r = data[i]!, g = data[i + 1]!, b = data[i + 2]!;
        const vig = 1 - 0.35 * Math.pow(Math.hypot(x - cx, y - cy) / rmax, 2);
        out[i] = clamp8((20 + 0.393 * r + 0.769 * g + 0.189 * b) * 0.92 * vig);
        out[i + 1] = clamp8((15 + 0.349 * r + 0.686 * g + 0.168 * b) * 0.92 * vig);
        out[i + 2] = clamp8((10 + 0.272 * r + 0.534 * g + 0.131 * b) * 0.92 * vig);
      }
    }
    return createFrame(w, h, out);
  },
};

const noir: Look = {
  name: 'noir',
  description: 'high-contrast black and white',
  apply(frame) {
    const { width: w, height: h, data } = frame;
    const out = new Uint8Array(data.length);
    for (let i = 0; i < w * h; i++) {
      const l = luma(data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!) / 255;
      const s = 255 / (1 + Math.exp(-8 * (l - 0.5)));
      out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = clamp8(s);
    }
    return createFrame(w, h, out);
  },
};

const LOOKS: ReadonlyMap<string, Look> = new Map([cartoon, vintage, noir].map((l) => [l.name, l]));

/** Every built-in look, for `streamedit looks` and the API. */
export function listLooks(): readonly Look[] {
  return [...LOOKS.values()];
}

/** A look by name; an unknown name is an InputError that lists the known ones. */
export function getLook(name: string): Look {
  const look = LOOKS.get(name);
  if (!look) throw new InputError(`Unknown look "${name}": use one of ${[...LOOKS.keys()].join(', ')}.`);
  return look;
}
