import { createFlow, type FlowField } from '../image/warp';
import { SeededRandom } from './rng';

/** Where the face is in frame 0, in pixels of the frame (e.g. the bounding box of the landmark mesh). */
export interface FaceBox {
  readonly cx: number;
  readonly cy: number;
  readonly width: number;
  readonly height: number;
}

/** What a known motion is generated from. */
export interface MotionSpec {
  /** Frames of the clip (frame 0 is the still itself). */
  readonly frames: number;
  /** Size of the frames the motion is defined on. */
  readonly width: number;
  readonly height: number;
  readonly face: FaceBox;
  readonly seed: number;
  /**
   * Pixels per working pixel: amplitudes (translation, local deformation) are given at the working size (longer
   * side 512) and scaled by this, so a 1280×720 clip moves as much on screen as a 512 one [max(width, height)/512].
   */
  readonly unit?: number;
  /** A mouth that opens and closes (a disocclusion: its inside has no ground truth) [false]. */
  readonly mouthOpening?: boolean;
}

/** A smooth signal that is 0 at t = 0: amp·sin(2π·cycles·t/(N−1)). cycles ≥ 0.75 reaches both ±amp. */
interface Wave {
  readonly amp: number;
  readonly cycles: number;
}

interface LocalCentre {
  readonly x: number;
  readonly y: number;
  readonly sigma: number;
  readonly dx: Wave;
  readonly dy: Wave;
}

/** The parameters of frame t, evaluated once per frame. */
interface FrameParams {
  readonly cos: number;
  readonly sin: number;
  readonly scale: number;
  readonly tx: number;
  readonly ty: number;
  readonly locals: ReadonlyArray<{ x: number; y: number; s2: number; reach2: number; dx: number; dy: number }>;
  /** Half gap of the opening mouth at its centre (0 = closed). */
  readonly gap: number;
}

/** Result of mapping a point: where frame 0 is sampled, and whether frame 0 holds that content at all. */
export interface MappedPoint {
  readonly x: number;
  readonly y: number;
  /** False inside the opened mouth (content not in frame 0) or when the source falls outside frame 0. */
  readonly valid: boolean;
  /** True inside the opened mouth. */
  readonly interior: boolean;
}

/**
 * A known head-like motion, defined by its BACKWARD map M_t: pixel x of frame t shows frame 0 at M_t(x). M_t is
 * the composition of a similarity about the face centre (rotation, scale, translation, each a smooth wave), an
 * optional mouth opening (lips pushed apart, the gap between them revealed) and a smooth local deformation
 * (Gaussian-weighted displacements over cheeks, mouth, brows, chin). M_0 is the identity, so frame 0 is the still.
 */
export class KnownMotion {
  readonly unit: number;
  readonly rotationDeg: Wave;
  readonly scale: Wave;
  readonly tx: Wave;
  readonly ty: Wave;
  private readonly locals: readonly LocalCentre[];
  private readonly mouth?: { x: number; y: number; halfWidth: number; maxGap: number; falloff: number; cycles: number };
  private readonly cache = new Map<number, FrameParams>();

  constructor(readonly spec: MotionSpec) {
    const rng = new SeededRandom(spec.seed);
    const u = (this.unit = spec.unit ?? Math.max(spec.width, spec.height) / 512);
    const wave = (lo: number, hi: number): Wave => ({
      amp: rng.sign() * rng.range(lo, hi),
      cycles: rng.range(0.8, 1.8),
    });
    // The head-like range: rotation ≥ ±6°, scale ±5 %, translation ±15 px (at working size).
    this.rotationDeg = wave(6, 8);
    this.scale = wave(0.045, 0.05);
    const tx = wave(12, 15);
    const ty = wave(10, 15);
    this.tx = { ...tx, amp: tx.amp * u };
    this.ty = { ...ty, amp: ty.amp * u };
    const f = spec.face;
    const spots: Array<[number, number]> = [
      [-0.27, 0.1], // left cheek
      [0.27, 0.1], // right cheek
      [0, 0.27], // mouth
      [-0.2, -0.2], // left brow
      [0.2, -0.2], // right brow
      [0, 0.42], // chin
    ];
    this.locals = spots.map(([ax, ay]) => ({
      x: f.cx + ax * f.width,
      y: f.cy + ay * f.height,
      sigma: 0.12 * f.width,
      dx: { amp: rng.sign() * rng.range(2, 4) * u, cycles: rng.range(1, 3) },
      dy: { amp: rng.sign() * rng.range(2, 4) * u, cycles: rng.range(1, 3) },
    }));
    if (spec.mouthOpening)
      this.mouth = {
        x: f.cx,
        y: f.cy + 0.27 * f.height,
        halfWidth: 0.17 * f.width,
        maxGap: 0.03 * f.height,
        falloff: 0.12 * f.height,
        cycles: Math.floor(rng.range(2, 4)),
      };
  }

  private waveAt(w: Wave, t: number): number {
    const n = Math.max(1, this.spec.frames - 1);
    return w.amp * Math.sin((2 * Math.PI * w.cycles * t) / n);
  }

  private params(t: number): FrameParams {
    let p = this.cache.get(t);
    if (p) return p;
    const a = (this.waveAt(this.rotationDeg, t) * Math.PI) / 180;
    const n = Math.max(1, this.spec.frames - 1);
    const open = this.mouth ? Math.max(0, Math.sin((Math.PI * this.mouth.cycles * t) / n)) : 0;
    p = {
      cos: Math.cos(a),
      sin: Math.sin(a),
      scale: 1 + this.waveAt(this.scale, t),
      tx: this.waveAt(this.tx, t),
      ty: this.waveAt(this.ty, t),
      locals: this.locals.map((c) => ({
        x: c.x,
        y: c.y,
        s2: 2 * c.sigma * c.sigma,
        reach2: 9 * c.sigma * c.sigma,
        dx: this.waveAt(c.dx, t),
        dy: this.waveAt(c.dy, t),
      })),
      gap: this.mouth ? (this.mouth.maxGap * open * open) / 2 : 0,
    };
    if (this.cache.size > 4) this.cache.clear();
    this.cache.set(t, p);
    return p;
  }

  /** The rotation (degrees), scale and translation of frame t (for reports and tests). */
  headPose(t: number): { rotationDeg: number; scale: number; tx: number; ty: number } {
    return {
      rotationDeg: this.waveAt(this.rotationDeg, t),
      scale: 1 + this.waveAt(this.scale, t),
      tx: this.waveAt(this.tx, t),
      ty: this.waveAt(this.ty, t),
    };
  }

  /** M_t(x, y): where pixel (x, y) of frame t samples frame 0 (pixels of the motion's own size). */
  map(t: number, x: number, y: number): MappedPoint {
    const p = this.params(t);
    const { cx, cy } = this.spec.face;
    // Global similarity, inverted: x = c + T + s·R(θ)(q − c)  ⇒  q = c + R(−θ)(x − c − T)/s.
    const ex = x - cx - p.tx;
    const ey = y - cy - p.ty;
    const qx = cx + (p.cos * ex + p.sin * ey) / p.scale;
    let qy = cy + (-p.sin * ex + p.cos * ey) / p.scale;
    let interior = false;
    if (this.mouth && p.gap > 0) {
      const m = this.mouth;
      const dxm = (qx - m.x) / m.halfWidth;
      const g = p.gap * Math.max(0, 1 - dxm * dxm);
      if (g > 0) {
        const dy = qy - m.y;
        const ady = Math.abs(dy);
        if (ady < g) interior = true;
        else {
          // Lips pushed apart by g, fading out over `falloff`: |dy| − g·k(|dy| − g) is monotonic (k decreasing).
          const k = Math.max(0, 1 - (ady - g) / m.falloff);
          qy = m.y + Math.sign(dy) * (ady - g * k * k);
        }
      }
    }
    let sx = qx;
    let sy = qy;
    for (const c of p.locals) {
      const d2 = (qx - c.x) ** 2 + (qy - c.y) ** 2;
      if (d2 > c.reach2) continue;
      const w = Math.exp(-d2 / c.s2);
      sx += w * c.dx;
      sy += w * c.dy;
    }
    const inside = sx >= -0.5 && sy >= -0.5 && sx <= this.spec.width - 0.5 && sy <= this.spec.height - 0.5;
    return { x: sx, y: sy, valid: inside && !interior, interior };
  }

  /**
   * The true correspondence of frame t at another resolution (`width`×`height`, same aspect): a {@link FlowField}
   * in the product's convention (pixel x of frame t samples frame 0 at x + flow) and the valid mask (1 where frame 0
   * holds the content), 2 inside the opened mouth.
   */
  flowAt(t: number, width = this.spec.width, height = this.spec.height): { flow: FlowField; valid: Uint8Array } {
    const f = this.spec.width / width;
    const g = this.spec.height / height;
    const hw = width * height;
    const flow = createFlow(width, height);
    const valid = new Uint8Array(hw);
    for (let y = 0, i = 0; y < height; y++) {
      const yy = (y + 0.5) * g - 0.5;
      for (let x = 0; x < width; x++, i++) {
        const m = this.map(t, (x + 0.5) * f - 0.5, yy);
        flow.data[i] = (m.x + 0.5) / f - 0.5 - x;
        flow.data[hw + i] = (m.y + 0.5) / g - 0.5 - y;
        valid[i] = m.valid ? 1 : m.interior ? 2 : 0;
      }
    }
    return { flow, valid };
  }

  /**
   * Where the point p0 of frame 0 is in frame t (solves M_t(x) = p0 by Newton's method from the global motion's
   * guess); `undefined` when it has no position there (inside the opened mouth, or it left the frame).
   */
  track(t: number, p0: { x: number; y: number }): { x: number; y: number } | undefined {
    const p = this.params(t);
    const { cx, cy } = this.spec.face;
    const ex = p0.x - cx;
    const ey = p0.y - cy;
    let x = cx + p.tx + p.scale * (p.cos * ex - p.sin * ey);
    let y = cy + p.ty + p.scale * (p.sin * ex + p.cos * ey);
    const h = 0.25;
    for (let it = 0; it < 30; it++) {
      const m = this.map(t, x, y);
      const rx = m.x - p0.x;
      const ry = m.y - p0.y;
      if (Math.hypot(rx, ry) < 1e-5) break;
      const ax = this.map(t, x + h, y);
      const bx = this.map(t, x - h, y);
      const ay = this.map(t, x, y + h);
      const by = this.map(t, x, y - h);
      const j11 = (ax.x - bx.x) / (2 * h);
      const j21 = (ax.y - bx.y) / (2 * h);
      const j12 = (ay.x - by.x) / (2 * h);
      const j22 = (ay.y - by.y) / (2 * h);
      const det = j11 * j22 - j12 * j21;
      if (Math.abs(det) < 1e-9) break;
      x -= (j22 * rx - j12 * ry) / det;
      y -= (-j21 * rx + j11 * ry) / det;
    }
    const m = this.map(t, x, y);
    if (!m.valid || Math.hypot(m.x - p0.x, m.y - p0.y) > 0.01) return undefined;
    if (x < 0 || y < 0 || x > this.spec.width - 1 || y > this.spec.height - 1) return undefined;
    return { x, y };
  }
}
