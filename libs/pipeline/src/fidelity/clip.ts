import type { RgbFrame } from '../image/frame';
import { resizeRgb } from '../image/resize';
import { backwardWarpPlanar, type FlowField } from '../image/warp';
import { encodeVideo } from '../media/encode';
import { bicubicWarp, toRgb } from './bicubic';
import { editMask, paintKeyframe, type PaintedDot } from './keyframe';
import { KnownMotion, type FaceBox } from './motion';
import { SeededRandom, deriveSeed } from './rng';

/** What one known-motion clip is generated from (defaults in brackets). */
export interface KnownMotionClipSpec {
  readonly name: string;
  /** The real portrait still (frame 0), at the clip's size. */
  readonly still: RgbFrame;
  /** The face in the still (pixels of the still). */
  readonly face: FaceBox;
  readonly frames: number;
  readonly seed: number;
  /** A mouth that opens (a disocclusion) [false]. */
  readonly mouthOpening?: boolean;
  /** Sensor noise, σ in 8-bit levels per channel [2]. */
  readonly noise?: number;
  /** Working size the methods run at (the product's decode size) [the still's size]. */
  readonly work?: { readonly width: number; readonly height: number };
}

/**
 * The clip seen at one size: the working size (what the methods are given) or the source size (what a user gets
 * back and the bench scores at when the two differ).
 */
export interface ClipView {
  readonly width: number;
  readonly height: number;
  /** The edited keyframe, frame 0 without noise and the edited region of frame 0 (1 = edited), at this size. */
  readonly keyframe: RgbFrame;
  readonly still: RgbFrame;
  readonly mask0: Uint8Array;
  /** The dots at this size (centres in frame 0). */
  readonly dots: readonly PaintedDot[];
  /** Clip (still) pixels per pixel of this view. */
  readonly unit: number;
}

/** Which {@link ClipView}: `working` (the methods' size) or `source` (the still's size). */
export type ClipSize = 'working' | 'source';

/**
 * The long side the generator's sizes are written for (marks of 4–8 px, translation ±15 px, …: the issue's, at the
 * default working size): a larger still scales them up, so the clip a method is given — and DIS's score on it —
 * does not depend on the working size the product is set to.
 */
const DESIGN_SIDE = 512;

/** The mouth's inside where it opens: dark, reddish (its content exists in no frame-0 pixel). */
const MOUTH_INSIDE = [52, 20, 24] as const;

/**
 * A known-motion clip: the still moved by a {@link KnownMotion}, the edited keyframe, and everything the ground
 * truth needs, at working size (its own fields, the {@link ClipView} the methods are given) and at the source size
 * (`source`). Frames are rendered on demand (nothing is kept but the still).
 */
export class KnownMotionClip implements ClipView {
  readonly motion: KnownMotion;
  /** The edited keyframe at working size (what the methods are given). */
  readonly keyframe: RgbFrame;
  /** Frame 0 at working size without noise, and the edited region of frame 0 (1 = edited) at working size. */
  readonly still: RgbFrame;
  readonly mask0: Uint8Array;
  /** The dots at working size (centres in frame 0). */
  readonly dots: readonly PaintedDot[];
  readonly width: number;
  readonly height: number;
  /** Clip pixels per working pixel. */
  readonly unit: number;
  /** The same at the source size (the still's). */
  readonly source: ClipView;

  constructor(readonly spec: KnownMotionClipSpec) {
    const { still } = spec;
    this.width = spec.work?.width ?? still.width;
    this.height = spec.work?.height ?? still.height;
    this.unit = still.width / this.width;
    const longSide = Math.max(still.width, still.height);
    const design = longSide / Math.min(longSide, DESIGN_SIDE);
    this.motion = new KnownMotion({
      frames: spec.frames,
      width: still.width,
      height: still.height,
      face: spec.face,
      seed: deriveSeed(spec.seed, `${spec.name}/motion`),
      unit: design,
      mouthOpening: spec.mouthOpening,
    });
    const painted = paintKeyframe(still, spec.face, design);
    this.keyframe = resizeRgb(painted.edited, this.width, this.height);
    this.still = resizeRgb(still, this.width, this.height);
    this.mask0 = editMask(this.still, this.keyframe);
    this.dots = painted.dots.map((d) => ({
      ...d,
      x: (d.x + 0.5) / this.unit - 0.5,
      y: (d.y + 0.5) / this.unit - 0.5,
      radius: d.radius / this.unit,
    }));
    this.source =
      this.unit === 1
        ? this
        : {
            width: still.width,
            height: still.height,
            keyframe: painted.edited,
            still,
            mask0: editMask(still, painted.edited),
            dots: painted.dots,
            unit: 1,
          };
  }

  /** The clip at `size`. */
  view(size: ClipSize): ClipView {
    return size === 'source' ? this.source : this;
  }

  /** Frame t as the camera gives it: the still warped by M_t (bicubic), the mouth's inside, sensor noise. */
  frame(t: number): RgbFrame {
    const { still } = this.spec;
    const { flow, valid } = this.motion.flowAt(t);
    const v = bicubicWarp(still, flow);
    const rng = new SeededRandom(deriveSeed(this.spec.seed, `${this.spec.name}/noise/${t}`));
    const sigma = this.spec.noise ?? 2;
    for (let i = 0; i < valid.length; i++) {
      if (valid[i] === 2) for (let c = 0; c < 3; c++) v[3 * i + c] = MOUTH_INSIDE[c]!;
      for (let c = 0; c < 3; c++) v[3 * i + c] = v[3 * i + c]! + sigma * rng.normal();
    }
    return toRgb(still.width, still.height, v);
  }

  /** Every frame in order (for the encoder). */
  async *frames(): AsyncGenerator<RgbFrame> {
    for (let t = 0; t < this.spec.frames; t++) yield this.frame(t);
  }

  /** Encodes the clip as H.264 through the project's encoder at a realistic CRF [20], 25 fps. */
  async write(out: string, crf = 20): Promise<void> {
    await encodeVideo(this.frames(), { out, fps: { num: 25, den: 1 }, crf, total: this.spec.frames });
  }

  /**
   * The ground truth of frame t at `size` [working]: the edited keyframe warped by M_t (bicubic), the edited region
   * (the keyframe's mask warped by M_t, where frame 0 holds the content), the valid mask (1 = ground truth exists,
   * 2 = inside the opened mouth, 0 = outside frame 0) and the true flow (for the ceiling).
   */
  truth(t: number, size: ClipSize = 'working'): ClipTruth {
    const v = this.view(size);
    const { flow, valid } = this.motion.flowAt(t, v.width, v.height);
    const edit = toRgb(v.width, v.height, bicubicWarp(v.keyframe, flow));
    const m = new Float32Array(v.mask0.length);
    for (let i = 0; i < m.length; i++) m[i] = v.mask0[i]!;
    const warped = backwardWarpPlanar(m, 1, flow);
    const region = new Uint8Array(m.length);
    for (let i = 0; i < m.length; i++) region[i] = warped[i]! >= 0.5 && valid[i] === 1 ? 1 : 0;
    return { edit, region, valid, flow };
  }

  /** Where dot k is in frame t at `size` [working]; `undefined` where it has no position (left the frame, occluded). */
  dotAt(t: number, k: number, size: ClipSize = 'working'): { x: number; y: number } | undefined {
    const { dots, unit: u } = this.view(size);
    const d = dots[k]!;
    const p = this.motion.track(t, { x: (d.x + 0.5) * u - 0.5, y: (d.y + 0.5) * u - 0.5 });
    return p && { x: (p.x + 0.5) / u - 0.5, y: (p.y + 0.5) / u - 0.5 };
  }
}

/** See {@link KnownMotionClip.truth}. */
export interface ClipTruth {
  readonly edit: RgbFrame;
  readonly region: Uint8Array;
  readonly valid: Uint8Array;
  readonly flow: FlowField;
}
