import type { RgbFrame } from '../image/frame';

/**
 * What the edit flow needs to know of a frame's face (from its landmarks): its size, which sets how large a window
 * its motion can be averaged over, and the seam between the lips — where a talking face's motion is discontinuous
 * (the lower lip and the jaw move apart from the upper lip as the mouth opens, and the gap between them has no
 * correspondence at all), so a window must not average the two lips' motions across it.
 */
export interface FaceShape {
  /** Height of the landmark mesh's bounding box, px. */
  readonly height: number;
  /** The landmark mesh's bounding box, px: where the face's own settings apply (hair, neck, background lie outside). */
  readonly box?: FaceBounds;
  /** The lips' seam, unless the mouth is degenerate. */
  readonly seam?: LipSeam;
}

/** An axis-aligned box, px (edges inclusive). */
export interface FaceBounds {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** MediaPipe face-mesh inner lip contours, mouth corner to mouth corner (78 → 308). */
const UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308] as const;
const LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308] as const;

/** The midline between the inner lip contours of one frame, corner to corner, in pixels. */
export interface LipSeam {
  /** x, y pairs: the two mouth corners first and last. */
  readonly points: Float32Array;
}

/**
 * The face shape of one frame's 478 × (x, y) landmarks, scaled by `scale` (landmark pixels → target pixels);
 * undefined without landmarks.
 */
export function faceShapeOf(landmarks: Float32Array | undefined, scale = { x: 1, y: 1 }): FaceShape | undefined {
  if (!landmarks) return undefined;
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i + 1 < landmarks.length; i += 2)
    if (Number.isFinite(landmarks[i]!) && Number.isFinite(landmarks[i + 1]!)) {
      x0 = Math.min(x0, landmarks[i]!);
      x1 = Math.max(x1, landmarks[i]!);
      y0 = Math.min(y0, landmarks[i + 1]!);
      y1 = Math.max(y1, landmarks[i + 1]!);
    }
  if (!(y1 > y0)) return undefined;
  return {
    height: (y1 - y0) * scale.y,
    box: { x0: x0 * scale.x, y0: y0 * scale.y, x1: x1 * scale.x, y1: y1 * scale.y },
    seam: lipSeamOf(landmarks, scale),
  };
}

/**
 * The lip seam of one frame's 478 × (x, y) landmarks, scaled by `scale` (landmark pixels → target pixels);
 * undefined when the landmarks are missing or the mouth is degenerate (corners closer than 2 px).
 */
export function lipSeamOf(landmarks: Float32Array | undefined, scale = { x: 1, y: 1 }): LipSeam | undefined {
  if (!landmarks) return undefined;
  const points = new Float32Array(2 * UPPER_INNER.length);
  for (let k = 0; k < UPPER_INNER.length; k++) {
    const u = UPPER_INNER[k]!;
    const l = LOWER_INNER[k]!;
    const x = (landmarks[2 * u]! + landmarks[2 * l]!) / 2;
    const y = (landmarks[2 * u + 1]! + landmarks[2 * l + 1]!) / 2;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return undefined;
    points[2 * k] = x * scale.x;
    points[2 * k + 1] = y * scale.y;
  }
  const last = points.length - 2;
  if (Math.hypot(points[last]! - points[0]!, points[last + 1]! - points[1]!) < 2) return undefined;
  return { points };
}

/**
 * The mouth's own frame: origin at the first corner, unit axis to the other corner, the normal down the face, and
 * the seam's offset along that normal at any position on the axis (linear between its points, constant past them).
 */
interface MouthFrame {
  readonly ox: number;
  readonly oy: number;
  readonly len: number;
  readonly ax: number;
  readonly ay: number;
  readonly nx: number;
  readonly ny: number;
  offsetAt(sv: number): number;
}

function mouthFrame(seam: LipSeam): MouthFrame {
  const p = seam.points;
  const m = p.length / 2;
  const ox = p[0]!;
  const oy = p[1]!;
  const len = Math.hypot(p[2 * m - 2]! - ox, p[2 * m - 1]! - oy);
  const ax = (p[2 * m - 2]! - ox) / len;
  const ay = (p[2 * m - 1]! - oy) / len;
  // Normal pointing down the face (image y grows downwards): (−ay, ax) when the corners run left to right.
  const nx = -ay;
  const ny = ax;
  const s = new Float64Array(m);
  const d = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    s[k] = (p[2 * k]! - ox) * ax + (p[2 * k + 1]! - oy) * ay;
    d[k] = (p[2 * k]! - ox) * nx + (p[2 * k + 1]! - oy) * ny;
  }
  const offsetAt = (sv: number): number => {
    if (sv <= s[0]!) return d[0]!;
    for (let k = 1; k < m; k++)
      if (sv <= s[k]!) {
        const span = s[k]! - s[k - 1]!;
        return span > 1e-6 ? d[k - 1]! + ((sv - s[k - 1]!) / span) * (d[k]! - d[k - 1]!) : d[k]!;
      }
    return d[m - 1]!;
  };
  return { ox, oy, len, ax, ay, nx, ny, offsetAt };
}

/** How far {@link seamSides} labels pixels around a seam. */
export interface SeamSideOptions {
  /** Pixels farther than this from the seam (across it) stay unlabelled: no window of that reach crosses it. */
  readonly band: number;
  /** The seam continues straight past each mouth corner for this fraction of the mouth's width. Default 0.15. */
  readonly extend?: number;
}

/**
 * Each pixel's side of the seam: +1 above (the upper lip's side), −1 below (the lower lip's and the jaw's), 0 where
 * the seam is farther than `band` or past its extended ends. Positions are measured in the mouth's own frame (the
 * corner-to-corner axis), so a tilted head tilts the seam with it.
 */
export function seamSides(seam: LipSeam, width: number, height: number, o: SeamSideOptions): Int8Array {
  const out = new Int8Array(width * height);
  const p = seam.points;
  const m = p.length / 2;
  const { ox, oy, len, ax, ay, nx, ny, offsetAt } = mouthFrame(seam);
  const ext = (o.extend ?? 0.15) * len;
  const reach = ext + o.band;
  const x0 = Math.max(0, Math.floor(Math.min(ox, p[2 * m - 2]!) - reach));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(ox, p[2 * m - 2]!) + reach));
  let dMin = Infinity;
  let dMax = -Infinity;
  for (let k = 0; k < m; k++) {
    dMin = Math.min(dMin, p[2 * k + 1]!);
    dMax = Math.max(dMax, p[2 * k + 1]!);
  }
  const y0 = Math.max(0, Math.floor(dMin - reach));
  const y1 = Math.min(height - 1, Math.ceil(dMax + reach));
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const sv = (x - ox) * ax + (y - oy) * ay;
      if (sv < -ext || sv > len + ext) continue;
      const across = (x - ox) * nx + (y - oy) * ny - offsetAt(sv);
      if (Math.abs(across) > o.band) continue;
      out[y * width + x] = across > 0 ? -1 : 1;
    }
  return out;
}

/**
 * The seam moved onto the image: along the mouth, each column's darkest point within `searchPx` of the landmarks'
 * midline (luma averaged over 5 × 3 px), the offsets then median-filtered over 7 columns. Why: where lips part, the
 * gap is the darkest line of the mouth (and the line between closed lips is dark too), while the landmarks' midline
 * can sit a few pixels off it — enough for a window that must not cross the seam to take the other lip's pixels.
 */
export function seamOnImage(seam: LipSeam, frame: RgbFrame, searchPx: number): LipSeam {
  const { ox, oy, len, ax, ay, nx, ny, offsetAt } = mouthFrame(seam);
  const { width: w, height: h, data } = frame;
  const luma = (x: number, y: number): number => {
    let s = 0;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -2; dx <= 2; dx++) {
        const xi = Math.min(w - 1, Math.max(0, Math.round(x + dx * ax - dy * ay)));
        const yi = Math.min(h - 1, Math.max(0, Math.round(y + dx * ay + dy * ax)));
        const i = 3 * (yi * w + xi);
        s += 0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!;
      }
    return s;
  };
  const steps = Math.max(2, Math.round(len));
  const offsets = new Float64Array(steps + 1);
  const points: number[] = [];
  for (let k = 0; k <= steps; k++) {
    const sv = (k / steps) * len;
    const base = offsetAt(sv);
    // Near the corners the lips meet: the search narrows to nothing there.
    const reach = Math.min(searchPx, sv, len - sv);
    let best = Infinity;
    let at = 0;
    for (let off = -Math.floor(reach); off <= reach; off++) {
      const v = luma(ox + sv * ax + (base + off) * nx, oy + sv * ay + (base + off) * ny);
      if (v < best) {
        best = v;
        at = off;
      }
    }
    offsets[k] = base + at;
  }
  for (let k = 0; k <= steps; k++) {
    const win: number[] = [];
    for (let j = Math.max(0, k - 3); j <= Math.min(steps, k + 3); j++) win.push(offsets[j]!);
    win.sort((a, b) => a - b);
    const d = k === 0 || k === steps ? offsets[k]! : win[win.length >> 1]!;
    const sv = (k / steps) * len;
    points.push(ox + sv * ax + d * nx, oy + sv * ay + d * ny);
  }
  return { points: Float32Array.from(points) };
}
