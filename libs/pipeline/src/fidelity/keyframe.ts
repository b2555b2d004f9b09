import { createFrame, type RgbFrame } from '../image/frame';
import type { FaceBox } from './motion';

/** One painted dot: its centre in frame 0 and its pure colour (what the drift metric looks for). */
export interface PaintedDot {
  readonly x: number;
  readonly y: number;
  readonly radius: number;
  readonly colour: readonly [number, number, number];
}

/** An edited keyframe: frame 0 with the edit painted over it. */
export interface PaintedKeyframe {
  readonly edited: RgbFrame;
  readonly dots: readonly PaintedDot[];
}

/** The pure colours of the dots: far from skin, hair and the grey/white of the other marks, and from each other. */
export const DOT_COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [255, 0, 255],
  [0, 255, 255],
];

/** A 5×7 bitmap font with the glyphs of {@link EDIT_TEXT} (rows top to bottom, bit 4 = left column). */
const FONT: Readonly<Record<string, readonly number[]>> = {
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  D: [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
};

/** The word painted over the mouth. */
export const EDIT_TEXT = 'EDIT15';

/** Sizes of the marks at working size (pixels), multiplied by `unit` at other sizes. */
export const MARKS = { checkerSquare: 6, checkerOpacity: 0.5, dotRadius: 3, textScale: 2 } as const;

/**
 * Paints the benchmark's edit over frame 0: two checkerboards of 6 px squares at 50 % opacity (one over flat cheek
 * skin, one over an eye and brow), six dots of pure colour (forehead, cheek, nose, chin, jaw) and the word
 * {@link EDIT_TEXT} in white over the mouth, all placed by fractions of the face box. `unit` = pixels per working
 * pixel (2.5 for a 1280×720 frame whose working size is 512×288) [1].
 */
export function paintKeyframe(frame: RgbFrame, face: FaceBox, unit = 1): PaintedKeyframe {
  const out = new Float32Array(frame.data);
  const { width: w, height: h } = frame;
  const blend = (x: number, y: number, c: readonly number[], a: number): void => {
    if (x < 0 || y < 0 || x >= w || y >= h || a <= 0) return;
    const p = (y * w + x) * 3;
    for (let k = 0; k < 3; k++) out[p + k] = out[p + k]! * (1 - a) + c[k]! * a;
  };
  const { cx, cy, width: fw, height: fh } = face;
  const checker = (ox: number, oy: number, size: number): void => {
    const sq = MARKS.checkerSquare * unit;
    const n = Math.max(2, Math.round(size / sq));
    const x0 = Math.round(ox - (n * sq) / 2);
    const y0 = Math.round(oy - (n * sq) / 2);
    for (let y = 0; y < Math.round(n * sq); y++)
      for (let x = 0; x < Math.round(n * sq); x++) {
        const white = (Math.floor(x / sq) + Math.floor(y / sq)) % 2 === 0;
        blend(x0 + x, y0 + y, white ? [255, 255, 255] : [0, 0, 0], MARKS.checkerOpacity);
      }
  };
  checker(cx - 0.26 * fw, cy + 0.06 * fh, 0.18 * fw);
  checker(cx + 0.2 * fw, cy - 0.1 * fh, 0.2 * fw);
  // Text: white, opaque, centred over the mouth.
  const scale = Math.max(1, Math.round(MARKS.textScale * unit));
  const advance = 6 * scale;
  const tx0 = Math.round(cx - (EDIT_TEXT.length * advance - scale) / 2);
  const ty0 = Math.round(cy + 0.27 * fh - 3.5 * scale);
  [...EDIT_TEXT].forEach((ch, k) => {
    const rows = FONT[ch]!;
    for (let r = 0; r < 7; r++)
      for (let c = 0; c < 5; c++)
        if (rows[r]! & (0x10 >> c))
          for (let yy = 0; yy < scale; yy++)
            for (let xx = 0; xx < scale; xx++)
              blend(tx0 + k * advance + c * scale + xx, ty0 + r * scale + yy, [255, 255, 255], 1);
  });
  const spots: Array<[number, number]> = [
    [-0.15, -0.33],
    [0.15, -0.33],
    [0.3, 0.12],
    [0, 0.08],
    [0, 0.43],
    [-0.3, 0.3],
  ];
  const radius = MARKS.dotRadius * unit;
  const dots = spots.map(([ax, ay], k): PaintedDot => {
    const dot = { x: cx + ax * fw, y: cy + ay * fh, radius, colour: DOT_COLOURS[k % DOT_COLOURS.length]! };
    paintDisc(dot, blend);
    return dot;
  });
  const data = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) data[i] = Math.min(255, Math.max(0, Math.round(out[i]!)));
  return { edited: createFrame(w, h, data), dots };
}

/** An anti-aliased disc (coverage from 4×4 samples per pixel). */
function paintDisc(dot: PaintedDot, blend: (x: number, y: number, c: readonly number[], a: number) => void): void {
  const r = dot.radius;
  for (let y = Math.floor(dot.y - r - 1); y <= Math.ceil(dot.y + r + 1); y++)
    for (let x = Math.floor(dot.x - r - 1); x <= Math.ceil(dot.x + r + 1); x++) {
      let inside = 0;
      for (let sy = 0; sy < 4; sy++)
        for (let sx = 0; sx < 4; sx++) {
          const dx = x - 0.375 + sx * 0.25 - dot.x;
          const dy = y - 0.375 + sy * 0.25 - dot.y;
          if (dx * dx + dy * dy <= r * r) inside++;
        }
      blend(x, y, dot.colour, inside / 16);
    }
}

/** Where the keyframe differs from frame 0 (any channel by more than 2 levels): the edited region of frame 0. */
export function editMask(original: RgbFrame, edited: RgbFrame): Uint8Array {
  const n = original.width * original.height;
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++)
      if (Math.abs(original.data[3 * i + c]! - edited.data[3 * i + c]!) > 2) {
        m[i] = 1;
        break;
      }
  return m;
}
