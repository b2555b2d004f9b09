import { domainFilter } from '../image/domain-filter';
import { createFrame, type RgbFrame } from '../image/frame';
import { boxMean, lumaOf } from '../image/lift-flow';
import { refineFlowLucasKanade } from '../image/lucas-kanade';
import { seamOnImage, seamSides, type FaceShape } from '../landmarks/face-shape';
import { blendOffFace, offFaceWeight } from './off-face';
import { backwardWarpPlanar, backwardWarpRgb, createFlow, type FlowField } from '../image/warp';

/**
 * How the flow that carries the user's edit is regularised ({@link editFlow}); `off` carries the edit by the
 * correspondence's own flow.
 */
export interface EditFlowSettings {
  /** Spatial σ of the edge-aware filter, in px at a 512-px longer side (scaled with the frame). Default 16. */
  readonly spatialPx: number;
  /**
   * The most that σ may be as a share of the face's height, where the face is known; 0 = no ceiling. Default 0.08.
   * `spatialPx` was chosen on faces 200–340 px tall at the working size (σ 5–7 % of the face); on a face that fills
   * less of the frame (a 1280×720 shot: 109 px at 512×288, σ 15 %) one σ spans parts of the face that move apart.
   */
  readonly spatialFace: number;
  /** Range σ, summed |ΔRGB| (0..255 each): colour steps of this size stop the smoothing. Default 60. */
  readonly range: number;
  /** Exponent of the texture confidence (the structure tensor's smaller eigenvalue). Default 0.25. */
  readonly confidencePower: number;
  /**
   * σ of the Lucas–Kanade window that then pulls the smoothed flow back onto the image, in px at a 512-px longer
   * side, where the frame's face is not known; 0 skips the refinement. Default 12.
   */
  readonly refineWindowPx: number;
  /** The same σ as a fraction of the face's height, where the face is known; 0 = `refineWindowPx` always. Default 0.05. */
  readonly refineWindowFace: number;
  /** Lucas–Kanade steps. Default 4. */
  readonly refineIterations: number;
  /** Of those, the last ones fit an affine motion over each window instead of a constant one. Default 2. */
  readonly refineAffineSteps: number;
  /**
   * How far (px at a 512-px longer side) the lips' seam may move from the landmarks onto the darkest line of the
   * mouth; the refinement's windows do not cross the seam. −1 = windows ignore the seam. Default 8.
   */
  readonly lipSeamSearchPx: number;
  /**
   * σ of a last Lucas–Kanade pass with small windows, in px at a 512-px longer side; 0 skips it. Default 2. The
   * face-sized windows above leave thin structures (glasses' rims, hair's edge, a contour against the background)
   * a few tenths of a pixel off; a small window sees them, and {@link fineDamping} keeps it off flat skin.
   */
  readonly fineWindowPx: number;
  /** Steps of that pass. Default 4. */
  readonly fineIterations: number;
  /**
   * Its damping (luma 0..255 squared gradients, window mean): flat skin's gradients are codec noise, whose pull
   * would shear an edit painted over it (damping 0.1: km-d9 −3.5 dB); 40 lets only real structure move a pixel.
   * Default 40.
   */
  readonly fineDamping: number;
  /**
   * Off the face (hair, neck, clothes, background; {@link offFaceWeight}), the fine pass's damping: no painted skin
   * there to protect from codec noise, and a look's edges there (the background against the head's outline) need
   * their tenths of a pixel. Default 2 (lp_d9's look oracle 25.60 → 25.65 dB, DIS 25.62; km-german unchanged:
   * its marks are on the face; docs/benchmarks.md).
   */
  readonly offFaceFineDamping: number;
  /**
   * Off the face, σ of the coarse Lucas–Kanade window as a share of the face's height; 0 = the face's window
   * everywhere. Default 0 (off): 0.025 added 0.025 dB on lp_d9's frames 1–29 to the damping's 0.05, at the cost of a
   * second affine pass over the frame (the edit flow ~2× slower).
   */
  readonly offFaceWindowFace: number;
  /** Width of the ramp from the face's settings to the off-face ones, as a share of the face's height. Default 0.05. */
  readonly offFaceBand: number;
}

/**
 * Defaults chosen on known-motion clips (edit PSNR against ground truth) and checked on real clips by the look
 * oracle — never on reconstruction, which this flow is not for.
 */
export const DEFAULT_EDIT_FLOW: EditFlowSettings = {
  spatialPx: 16,
  spatialFace: 0.08,
  range: 60,
  confidencePower: 0.25,
  refineWindowPx: 12,
  refineWindowFace: 0.05,
  refineIterations: 4,
  refineAffineSteps: 2,
  lipSeamSearchPx: 8,
  fineWindowPx: 2,
  fineIterations: 4,
  fineDamping: 40,
  offFaceFineDamping: 2,
  offFaceWindowFace: 0,
  offFaceBand: 0.05,
};

/** What the edit flow of one frame is computed from. */
export interface LayerFlowFrames {
  readonly ref: { readonly original: RgbFrame; readonly edited: RgbFrame };
  readonly current: RgbFrame;
  readonly face?: FaceShape;
}

/**
 * The flow that carries the edit layer of `ref` onto `current`: {@link coarseLayerFlowFor}, then its
 * {@link fineLayerFlow} pass. The correspondence's own flow with `editFlow: 'off'`, or when `ref` carries no edit.
 */
export function layerFlowFor(
  flow: FlowField,
  frames: LayerFlowFrames,
  options: { readonly editFlow?: EditFlowSettings | 'off' },
): FlowField {
  return fineLayerFlow(coarseLayerFlowFor(flow, frames, options), frames, options);
}

/**
 * The edit flow before its fine pass: the correspondence's flow smoothed by {@link editFlow}, then pulled onto the
 * image by a windowed Lucas–Kanade refinement against `ref.original` — windows sized by the current frame's face and
 * kept to one side of its lips' seam where its landmarks are known. What the trajectory fit
 * ({@link EditFlowTrack}) smooths along time; the fine pass comes after it. The correspondence's own flow with
 * `editFlow: 'off'`, or when `ref` carries no edit (nothing to move: no work).
 */
export function coarseLayerFlowFor(
  flow: FlowField,
  frames: LayerFlowFrames,
  options: { readonly editFlow?: EditFlowSettings | 'off' },
): FlowField {
  const s = editFlowSettings(frames, options);
  if (!s) return flow;
  const smoothed = editFlow(flow, frames.current, s, frames.face);
  if (s.refineWindowPx <= 0 || s.refineIterations <= 0) return smoothed;
  const perPx = Math.max(flow.width, flow.height) / 512;
  const { face } = frames;
  const windowSigma = refineWindowSigma(s, flow, face);
  const seam =
    face?.seam && s.lipSeamSearchPx >= 0
      ? seamOnImage(face.seam, frames.current, s.lipSeamSearchPx * perPx)
      : undefined;
  const lk = { iterations: s.refineIterations, affineSteps: s.refineAffineSteps, ...EDIT_FLOW_LK };
  const onFace = refineFlowLucasKanade(smoothed, frames.ref.original, frames.current, {
    ...lk,
    windowSigma,
    // The band covers every pixel whose window (two box passes: reach ≈ 2.45σ) can cross the seam.
    sides: seam && seamSides(seam, flow.width, flow.height, { band: 2.5 * windowSigma + 2 }),
  });
  const weight = s.offFaceWindowFace > 0 ? offFaceWeight(face, flow, s.offFaceBand) : undefined;
  if (!face || !weight) return onFace;
  // A second pass rather than a window per pixel: the box sums stay separable, and the face's pixels keep exactly
  // the windows they were chosen with. The seam lies on the face, where this pass is not used.
  const offFace = refineFlowLucasKanade(smoothed, frames.ref.original, frames.current, {
    ...lk,
    windowSigma: face.height * s.offFaceWindowFace,
  });
  return blendOffFace(onFace, offFace, weight);
}

/**
 * The edit flow's last step, per frame ({@link EditFlowSettings.fineWindowPx}): Lucas–Kanade with small, damped
 * windows against `ref.original`. After the trajectory fit, not before: averaged along time its corrections were
 * lost (km-d9 21.35 → 21.34 dB), applied to the fitted flow they are kept. `layer` itself where there is no edit
 * flow or no pass.
 */
export function fineLayerFlow(
  layer: FlowField,
  frames: LayerFlowFrames,
  options: { readonly editFlow?: EditFlowSettings | 'off' },
): FlowField {
  const s = editFlowSettings(frames, options);
  if (!s || s.fineWindowPx <= 0 || s.fineIterations <= 0) return layer;
  const weight = s.offFaceFineDamping !== s.fineDamping ? offFaceWeight(frames.face, layer, s.offFaceBand) : undefined;
  return refineFlowLucasKanade(layer, frames.ref.original, frames.current, {
    windowSigma: atFrameScale(s.fineWindowPx, layer),
    iterations: s.fineIterations,
    robust: EDIT_FLOW_LK.robust,
    // Per pixel, off the face: no second pass (a constant-motion step solves each pixel on its own).
    damping: weight ? weight.map((t) => s.fineDamping + t * (s.offFaceFineDamping - s.fineDamping)) : s.fineDamping,
  });
}

/** The edit flow's settings, or `undefined` where there is none: `editFlow: 'off'`, or a reference without an edit. */
function editFlowSettings(
  frames: LayerFlowFrames,
  options: { readonly editFlow?: EditFlowSettings | 'off' },
): EditFlowSettings | undefined {
  if (options.editFlow === 'off' || !editDelta(frames.ref)) return undefined;
  return options.editFlow ?? DEFAULT_EDIT_FLOW;
}

/** How the edit flow's Lucas–Kanade steps weigh evidence, at the working size and at the source size alike. */
export const EDIT_FLOW_LK = {
  damping: 0.1,
  // Without it a mouth opening or codec noise dragged whole windows: km-german 22.07 → 23.23 dB (5 and 20: same).
  robust: 10,
} as const;

/**
 * σ in working px of the Lucas–Kanade window that pulls the edit flow onto the image: a share of the face where
 * it is known, else {@link EditFlowSettings.refineWindowPx} scaled to the frame.
 */
export function refineWindowSigma(
  s: EditFlowSettings,
  size: { readonly width: number; readonly height: number },
  face: FaceShape | undefined,
): number {
  // A window is a share of the face, not of the frame: σ 18 px suited a 313-px face (km-katiehill, +0.36 dB per
  // frame) and cost a 213-px one 0.35 dB (km-d20); face/20 gained on both (docs/benchmarks.md).
  if (face && s.refineWindowFace > 0) return face.height * s.refineWindowFace;
  return atFrameScale(s.refineWindowPx, size);
}

/** A length given in px at a 512-px longer side, in px of a frame of `size` (the edit flow's settings are so given). */
function atFrameScale(px: number, size: { readonly width: number; readonly height: number }): number {
  return (px * Math.max(size.width, size.height)) / 512;
}

/**
 * σ in working px of the edit flow's edge-aware filter: {@link EditFlowSettings.spatialPx} scaled to the frame,
 * at most {@link EditFlowSettings.spatialFace} of the face's height where the face is known.
 */
export function editFlowSpatial(
  s: EditFlowSettings,
  size: { readonly width: number; readonly height: number },
  face: FaceShape | undefined,
): number {
  const framed = atFrameScale(s.spatialPx, size);
  // km720-s18 (109-px face), edit PSNR at 1280×720: σ 16 px (15 % of the face) 22.39 dB, 8 px 22.87, 5 px 22.97,
  // 3 px 22.78 (docs/benchmarks.md). The ceiling stays at the top of the share the default was chosen over.
  return face && s.spatialFace > 0 ? Math.min(framed, face.height * s.spatialFace) : framed;
}

/**
 * The flow that carries the edit layer: the correspondence's flow averaged over each image region (edge-aware, by
 * {@link domainFilter} guided by the current frame), each pixel weighted by how much texture pins its flow.
 *
 * Why: the correspondence is fitted photometrically, so on flat skin its flow follows sensor noise and codec blocks —
 * harmless for the frame's own colours (which is all reconstruction measures) but it skews and shears painted
 * structure (checkerboards, text, dots) by a few tenths of a pixel. Textured pixels (the smaller eigenvalue of the
 * structure tensor is large) know their motion; flat ones borrow it from textured pixels of the same region, and
 * colour edges — where real motion boundaries are — stop the averaging.
 */
export function editFlow(
  flow: FlowField,
  guide: RgbFrame,
  s: EditFlowSettings = DEFAULT_EDIT_FLOW,
  face?: FaceShape,
): FlowField {
  const { width: w, height: h } = flow;
  if (guide.width !== w || guide.height !== h) throw new RangeError('flow and guide sizes differ');
  const n = w * h;
  const confidence = textureConfidence(guide, s.confidencePower);
  const planes = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const c = confidence[i]!;
    planes[i] = flow.data[i]! * c;
    planes[n + i] = flow.data[n + i]! * c;
    planes[2 * n + i] = c;
  }
  const f = domainFilter(planes, 3, guide, { spatial: editFlowSpatial(s, flow, face), range: s.range });
  const out = createFlow(w, h);
  for (let i = 0; i < n; i++) {
    out.data[i] = f[i]! / f[2 * n + i]!;
    out.data[n + i] = f[n + i]! / f[2 * n + i]!;
  }
  return out;
}

/** (smaller eigenvalue of the 7×7 structure tensor of luma in 0..255)^power, plus a floor so no weight is 0. */
function textureConfidence(frame: RgbFrame, power: number): Float32Array {
  const { width: w, height: h } = frame;
  const n = w * h;
  const y = lumaOf(frame);
  const xx = new Float32Array(n);
  const yy = new Float32Array(n);
  const xy = new Float32Array(n);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const i = r * w + c;
      const gx = (255 * (y[r * w + Math.min(c + 1, w - 1)]! - y[r * w + Math.max(c - 1, 0)]!)) / 2;
      const gy = (255 * (y[Math.min(r + 1, h - 1) * w + c]! - y[Math.max(r - 1, 0) * w + c]!)) / 2;
      xx[i] = gx * gx;
      yy[i] = gy * gy;
      xy[i] = gx * gy;
    }
  }
  const a = boxMean(xx, w, h, 3);
  const b = boxMean(yy, w, h, 3);
  const d = boxMean(xy, w, h, 3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const half = (a[i]! - b[i]!) / 2;
    const lmin = Math.max((a[i]! + b[i]!) / 2 - Math.sqrt(half * half + d[i]! * d[i]!), 0);
    out[i] = (power === 0.25 ? Math.sqrt(Math.sqrt(lmin)) : lmin ** power) + 1e-6; // pow is slow; 0.25 is the default
  }
  return out;
}

/**
 * The edited reference carried onto the current frame in two layers: the reference's own pixels by `flow` (the
 * correspondence: what reconstruction measures and what makes the frame look like itself) plus the user's edit,
 * `edited − original`, by `layerFlow` ({@link editFlow}). Where nothing was edited this is exactly the reference
 * warped by `flow`; with `layerFlow === flow` it is the edited reference warped by `flow`. `originalMoved`: the
 * reference's original already warped by `flow`, where the caller needs it too (the source-size render's detail
 * gate), so that the full-size warp is made once.
 */
export function warpEdit(
  ref: { original: RgbFrame; edited: RgbFrame },
  flow: FlowField,
  layerFlow: FlowField,
  originalMoved?: RgbFrame,
): RgbFrame {
  if (layerFlow === flow || ref.edited === ref.original) return backwardWarpRgb(ref.edited, flow);
  const base = originalMoved ?? backwardWarpRgb(ref.original, flow);
  const delta = editDelta(ref);
  if (!delta) return base;
  const n = flow.width * flow.height;
  const moved = backwardWarpPlanar(delta, 3, layerFlow);
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < 3; c++) {
      const v = base.data[3 * i + c]! + moved[c * n + i]!;
      out[3 * i + c] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
    }
  return createFrame(flow.width, flow.height, out);
}

/** Deltas by edited frame (with the original they were taken against): a window's frames share one reference. */
const deltas = new WeakMap<RgbFrame, { original: RgbFrame; delta: Float32Array | undefined }>();

/**
 * The edit layer `edited − original`, planar `[3, H, W]`, or `undefined` where the two are equal everywhere (a
 * reconstruction carries no edit). Computed once per reference, not once per frame.
 */
export function editDelta(ref: { original: RgbFrame; edited: RgbFrame }): Float32Array | undefined {
  const known = deltas.get(ref.edited);
  if (known && known.original === ref.original) return known.delta;
  const n = ref.original.width * ref.original.height;
  let delta: Float32Array | undefined;
  if (ref.edited !== ref.original) {
    const d = new Float32Array(3 * n);
    let any = false;
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++) {
        const v = ref.edited.data[3 * i + c]! - ref.original.data[3 * i + c]!;
        d[c * n + i] = v;
        if (v !== 0) any = true;
      }
    if (any) delta = d;
  }
  deltas.set(ref.edited, { original: ref.original, delta });
  return delta;
}
