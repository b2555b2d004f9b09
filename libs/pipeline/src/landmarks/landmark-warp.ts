import Delaunator from 'delaunator';
import { type FlowField, createFlow } from '../image/warp';
import { LANDMARK_COUNT } from './face-observation';

export interface LandmarkWarpOptions {
  /** Border anchors per side of the frame, corners included once (segments per side). Default 4. */
  readonly anchorsPerSide?: number;
}

/** The field of one frame: current → reference displacements, and where it is driven by landmarks alone. */
export interface LandmarkField {
  /** Pixel (x, y) of the current frame corresponds to reference position (x + u, y + v). */
  readonly flow: FlowField;
  /** 1 where the pixel lies in a landmark-only triangle (the face hull of the current frame), else 0. */
  readonly inHull: Uint8Array;
}

/**
 * F_Lwarp of the paper: a dense piecewise-affine correspondence from a frame to the reference (key) frame, driven by
 * the face landmarks. Built once per reference from a Delaunay triangulation of its landmarks; each later frame's
 * landmarks move the same triangles, and each triangle maps its current pixels to the reference by barycentric
 * interpolation of its reference vertices. Warping a frame with `backwardWarpRgb(reference, field.flow)` gives
 * I_Lwarp.
 *
 * Two triangle sets, both fixed by the reference:
 * - inner: Delaunay triangles of the landmarks alone. They tile the landmarks' convex hull exactly, so inside the
 *   face hull the field follows the landmarks exactly (an affine motion of the landmarks gives that affine field).
 * - outer: the triangles that touch a border anchor in the Delaunay triangulation of landmarks + anchors. Anchors
 *   are fixed points on the frame border that map to themselves, so outside the hull the field falls off linearly
 *   to zero at the border.
 * Outer triangles are drawn first and inner ones over them, so the hull is always landmark-driven.
 *
 * Fold-overs: a triangle whose orientation flips in the current frame (landmarks crossing, e.g. a profile turn or a
 * bad detection) still has a well-defined affine map, but overlaps its neighbours. Within each set, flipped
 * triangles are drawn before orientation-preserving ones, and later triangles overwrite earlier ones (no z-buffer):
 * where a flipped triangle overlaps a consistent one the consistent map wins, and a pixel covered only by flipped
 * triangles still gets a nearby landmark-driven map. Degenerate triangles (area < 1e-6 px²) are skipped; a pixel no
 * triangle covers (landmarks far outside the frame) keeps zero displacement.
 */
export class LandmarkWarp {
  private constructor(
    readonly width: number,
    readonly height: number,
    /** Reference positions of the landmarks followed by the anchors, (x, y) interleaved. */
    private readonly reference: Float64Array,
    private readonly inner: Uint32Array,
    private readonly outer: Uint32Array,
  ) {}

  /** Triangulates the reference landmarks (478 × (x, y), pixel coordinates of a `width`×`height` frame). */
  static fromReference(
    refLandmarks: ArrayLike<number>,
    width: number,
    height: number,
    options: LandmarkWarpOptions = {},
  ): LandmarkWarp {
    assertLandmarks(refLandmarks, 'reference');
    const anchors = borderAnchors(width, height, options.anchorsPerSide ?? 4);
    const points = new Float64Array(2 * LANDMARK_COUNT + anchors.length);
    points.set(Array.from(refLandmarks), 0);
    points.set(anchors, 2 * LANDMARK_COUNT);
    const inner = new Delaunator(points.subarray(0, 2 * LANDMARK_COUNT)).triangles;
    const all = new Delaunator(points).triangles;
    const outer = trianglesWhere(all, (a, b, c) => a >= LANDMARK_COUNT || b >= LANDMARK_COUNT || c >= LANDMARK_COUNT);
    return new LandmarkWarp(width, height, points, inner, outer);
  }

  /** Number of triangles (inner, outer), for diagnostics. */
  get triangleCounts(): { inner: number; outer: number } {
    return { inner: this.inner.length / 3, outer: this.outer.length / 3 };
  }

  /** The dense field current → reference for a frame whose landmarks are `curLandmarks` (478 × (x, y)). */
  field(curLandmarks: ArrayLike<number>): LandmarkField {
    assertLandmarks(curLandmarks, 'current');
    const current = new Float64Array(this.reference.length);
    current.set(Array.from(curLandmarks), 0);
    // Anchors are fixed frame-border points: the same in every frame.
    current.set(this.reference.subarray(2 * LANDMARK_COUNT), 2 * LANDMARK_COUNT);
    const raster = new Rasteriser(this.width, this.height, current, this.reference);
    raster.drawSet(this.outer, 0);
    raster.drawSet(this.inner, 1);
    return { flow: raster.flow, inHull: raster.inHull };
  }
}

/** Corners plus evenly spaced points on each side, on the outermost pixel centres (0 … W−1, 0 … H−1). */
function borderAnchors(width: number, height: number, perSide: number): Float64Array {
  const n = Math.max(1, Math.floor(perSide));
  const xs = (k: number) => ((width - 1) * k) / n;
  const ys = (k: number) => ((height - 1) * k) / n;
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    out.push(xs(k), 0); // top, left to right
    out.push(width - 1, ys(k)); // right, top to bottom
    out.push(xs(n - k), height - 1); // bottom, right to left
    out.push(0, ys(n - k)); // left, bottom to top
  }
  return Float64Array.from(out);
}

function trianglesWhere(triangles: Uint32Array, keep: (a: number, b: number, c: number) => boolean): Uint32Array {
  const out: number[] = [];
  for (let t = 0; t < triangles.length; t += 3) {
    const a = triangles[t]!;
    const b = triangles[t + 1]!;
    const c = triangles[t + 2]!;
    if (keep(a, b, c)) out.push(a, b, c);
  }
  return Uint32Array.from(out);
}

function assertLandmarks(points: ArrayLike<number>, which: string): void {
  if (points.length !== 2 * LANDMARK_COUNT)
    throw new RangeError(`${which} landmarks need ${2 * LANDMARK_COUNT} numbers, got ${points.length}`);
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i]))
      throw new RangeError(`${which} landmarks contain a non-finite value (a frame without a face has no field)`);
  }
}

/** Scanline rasteriser of piecewise-affine maps into a planar flow field. */
class Rasteriser {
  readonly flow: FlowField;
  readonly inHull: Uint8Array;
  private readonly u: Float32Array;
  private readonly v: Float32Array;

  constructor(
    private readonly w: number,
    private readonly h: number,
    private readonly cur: Float64Array,
    private readonly ref: Float64Array,
  ) {
    this.flow = createFlow(w, h);
    this.u = this.flow.data.subarray(0, w * h);
    this.v = this.flow.data.subarray(w * h);
    this.inHull = new Uint8Array(w * h);
  }

  /** Draws a triangle set: flipped triangles first, so orientation-preserving ones overwrite them. */
  drawSet(triangles: Uint32Array, hull: 0 | 1): void {
    const flipped: number[] = [];
    for (let t = 0; t < triangles.length; t += 3) {
      const area = this.signedArea(this.cur, triangles, t);
      if (Math.abs(area) < 1e-6) continue;
      // A triangle flipped when its orientation differs between the reference and the current frame.
      if (Math.sign(area) !== Math.sign(this.signedArea(this.ref, triangles, t))) flipped.push(t);
    }
    for (const t of flipped) this.drawTriangle(triangles, t, hull);
    const isFlipped = new Set(flipped);
    for (let t = 0; t < triangles.length; t += 3) {
      if (!isFlipped.has(t) && Math.abs(this.signedArea(this.cur, triangles, t)) >= 1e-6)
        this.drawTriangle(triangles, t, hull);
    }
  }

  private signedArea(p: Float64Array, tri: Uint32Array, t: number): number {
    const a = 2 * tri[t]!;
    const b = 2 * tri[t + 1]!;
    const c = 2 * tri[t + 2]!;
    return 0.5 * ((p[b]! - p[a]!) * (p[c + 1]! - p[a + 1]!) - (p[c]! - p[a]!) * (p[b + 1]! - p[a + 1]!));
  }

  /**
   * Fills the pixel centres inside one triangle of the current frame with the affine map current → reference
   * (the barycentric interpolation of its reference vertices, written as ref = r0 + Dx·(x − x0) + Dy·(y − y0)).
   */
  private drawTriangle(tri: Uint32Array, t: number, hull: 0 | 1): void {
    const { cur, ref, w, h, u, v } = this;
    const i0 = 2 * tri[t]!;
    const i1 = 2 * tri[t + 1]!;
    const i2 = 2 * tri[t + 2]!;
    const x0 = cur[i0]!;
    const y0 = cur[i0 + 1]!;
    const e1x = cur[i1]! - x0;
    const e1y = cur[i1 + 1]! - y0;
    const e2x = cur[i2]! - x0;
    const e2y = cur[i2 + 1]! - y0;
    const d = e1x * e2y - e1y * e2x;
    const r0x = ref[i0]!;
    const r0y = ref[i0 + 1]!;
    const f1x = ref[i1]! - r0x;
    const f1y = ref[i1 + 1]! - r0y;
    const f2x = ref[i2]! - r0x;
    const f2y = ref[i2 + 1]! - r0y;
    // d(ref)/dx and d(ref)/dy of the affine map (Cramer's rule on the two edge vectors).
    const dxx = (e2y * f1x - e1y * f2x) / d;
    const dxy = (e2y * f1y - e1y * f2y) / d;
    const dyx = (e1x * f2x - e2x * f1x) / d;
    const dyy = (e1x * f2y - e2x * f1y) / d;

    const ys = [y0, y0 + e1y, y0 + e2y];
    const xsv = [x0, x0 + e1x, x0 + e2x];
    const eps = 1e-9;
    const yStart = Math.max(0, Math.ceil(Math.min(ys[0]!, ys[1]!, ys[2]!) - eps));
    const yEnd = Math.min(h - 1, Math.floor(Math.max(ys[0]!, ys[1]!, ys[2]!) + eps));
    for (let y = yStart; y <= yEnd; y++) {
      // The row's span: intersections of the row with the three edges.
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = 0; k < 3; k++) {
        const ax = xsv[k]!;
        const ay = ys[k]!;
        const bx = xsv[(k + 1) % 3]!;
        const by = ys[(k + 1) % 3]!;
        if (y < Math.min(ay, by) - eps || y > Math.max(ay, by) + eps) continue;
        if (Math.abs(by - ay) < eps) {
          lo = Math.min(lo, ax, bx);
          hi = Math.max(hi, ax, bx);
        } else {
          const x = ax + ((bx - ax) * (y - ay)) / (by - ay);
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
      }
      const xStart = Math.max(0, Math.ceil(lo - eps));
      const xEnd = Math.min(w - 1, Math.floor(hi + eps));
      if (xStart > xEnd) continue;
      const dy = y - y0;
      // Displacement at x: ref(x, y) − (x, y); both components are affine in x, so step them.
      let uu = r0x + dxx * (xStart - x0) + dyx * dy - xStart;
      let vv = r0y + dxy * (xStart - x0) + dyy * dy - y;
      const du = dxx - 1;
      const dv = dxy;
      for (let x = xStart, i = y * w + xStart; x <= xEnd; x++, i++) {
        u[i] = uu;
        v[i] = vv;
        this.inHull[i] = hull;
        uu += du;
        vv += dv;
      }
    }
  }
}
