import type { RgbFrame } from '../image/frame';
import { boxMean, liftFlow, type LiftFlowOptions } from '../image/lift-flow';
import { difference, resampleFloat, upscaleBicubic, type FloatPixels } from '../image/resample';
import { backwardWarpRgb, type FlowField } from '../image/warp';
import { createFrame } from '../image/frame';
import { DEFAULT_DETAIL_GATE, gateDetail, type DetailGateSettings } from '../image/detail-gate';
import { refineFlowLucasKanade, type LucasKanadeSettings } from '../image/lucas-kanade';
import type { FaceShape } from '../landmarks/face-shape';
import {
  DEFAULT_EDIT_FLOW,
  EDIT_FLOW_LK,
  editDelta,
  refineWindowSigma,
  warpEdit,
  type EditFlowSettings,
} from './edit-flow';

/**
 * The Lucas–Kanade pass at the source size on the lifted flow that carries the edit ({@link liftRender}); `off`
 * renders the lifted flow as it is.
 */
export interface SourceRefineSettings {
  /** Gauss–Newton steps at the source size (each ~5 box-filtered products of the full frame). Default 2. */
  readonly iterations: number;
  /** Of those, the last ones fit an affine motion per window (~5× a constant step). Default 0. */
  readonly affineSteps: number;
  /** The window: the edit flow's working-size window ({@link refineWindowSigma}) × the scale × this. Default 0.75. */
  readonly windowScale: number;
}

/**
 * Chosen on km720-s18 (edit PSNR at 1280×720 against ground truth, 5 frames, spatial edit flow): no pass 22.09 dB;
 * 2 constant steps at window × 1: 22.33, × 0.5: 22.49 (× 0.35: 22.14); 4 steps of which 2 affine: 22.57 at ~3× the
 * cost. Two constant steps cost ~0.35 s a 720p frame on one core. Once the edit flow's filter was sized by the face
 * (`editFlowSpatial`), a wider window won (the whole bench, 100 frames: × 0.5 22.85, × 0.75 23.05, × 1 22.98;
 * km720-s18-open × 0.5 23.01, × 0.75 23.19); why the optimum moved was not isolated. The window's size does not
 * change the cost (box filters).
 */
export const DEFAULT_SOURCE_REFINE: SourceRefineSettings = { iterations: 2, affineSteps: 0, windowScale: 0.75 };

/**
 * The Lucas–Kanade settings of the source-size pass for one frame: its window is the working-size edit flow's,
 * scaled to the source. `undefined` (no pass) with `off` or when source and working size are the same.
 */
export function sourceRefineFor(
  settings: SourceRefineSettings | 'off' | undefined,
  frame: {
    readonly work: { readonly width: number; readonly height: number };
    readonly full: { readonly width: number; readonly height: number };
    readonly face?: FaceShape;
    readonly editFlow?: EditFlowSettings | 'off';
  },
): LucasKanadeSettings | undefined {
  const s = settings ?? DEFAULT_SOURCE_REFINE;
  const scale = frame.full.width / frame.work.width;
  if (s === 'off' || s.iterations <= 0 || scale <= 1) return undefined;
  const edit = frame.editFlow && frame.editFlow !== 'off' ? frame.editFlow : DEFAULT_EDIT_FLOW;
  return {
    windowSigma: refineWindowSigma(edit, frame.work, frame.face) * scale * s.windowScale,
    iterations: s.iterations,
    affineSteps: s.affineSteps,
    ...EDIT_FLOW_LK,
  };
}

/** The detail gate of a render at the source size: the default unless asked for, none with `off`. */
export function detailGateFor(setting: DetailGateSettings | 'off' | undefined): DetailGateSettings | undefined {
  return setting === 'off' ? undefined : (setting ?? DEFAULT_DETAIL_GATE);
}

/** A reference frame and its edit at the source size (what the output is rendered from). */
export interface SourceImages {
  readonly original: RgbFrame;
  readonly edited: RgbFrame;
}

/** What {@link liftRender} needs: one frame's working-size render and the full-size frames. */
export interface LiftRequest {
  /** The working-size edited reference warped by the working-size flow. */
  readonly warped: RgbFrame;
  /** The working-size result (`warped` with its uncertain pixels re-synthesised), or `warped` itself. */
  readonly result: RgbFrame;
  /** The working-size flow (target → reference). */
  readonly flow: FlowField;
  /** The target frame at working size and at source size (the guides of the flow's upsampling). */
  readonly current: RgbFrame;
  readonly currentFull: RgbFrame;
  /** The reference's edit at source size. */
  readonly editedFull: RgbFrame;
  /**
   * The flow that carries the edit layer ({@link editFlow}), with the reference's original at source size: the
   * full-size render is then {@link warpEdit} of the two lifted flows. Without, `editedFull` is warped by `flow`.
   */
  readonly layer?: { readonly flow: FlowField; readonly originalFull: RgbFrame };
  readonly upsampling?: LiftFlowOptions;
  /**
   * A Lucas–Kanade refinement of the lifted flow that carries the edit against the full-size frames (the reference's
   * original → the target), in source px; none without. Needs `layer` (its `originalFull`) and an edit to carry.
   */
  readonly refine?: LucasKanadeSettings;
  /** Full-size detail kept only where it lines up ({@link gateDetail}); all of it without. Needs `layer`. */
  readonly detail?: DetailGateSettings;
}

/**
 * A working-size render carried to the source size: the full-size edited reference warped by the lifted flow (its
 * detail kept), plus what synthesis changed at working size (`result − warped`, upsampled); where synthesis replaced
 * pixels (σ > τ: the flow is not trusted there) the synthesised result itself, upscaled, without full-size detail.
 * Returns the lifted flow that carried the edit (the edit weights follow it).
 */
export function liftRender(request: LiftRequest): { image: RgbFrame; flow: FlowField } {
  const { currentFull, editedFull, layer } = request;
  const lift = (f: FlowField): FlowField => liftFlow(f, request.current, currentFull, request.upsampling);
  let base = lift(request.flow);
  let flow = layer && layer.flow !== request.flow ? lift(layer.flow) : base;
  // With no edit (a reconstruction) there is nothing for the pass to carry, and the frame is the correspondence's
  // flow lifted, as every edit's base is: refined on the full-size frames, that base slid where hair moved (lp_s18
  // at 1280×720, frames 100/150/200/250: 34.94/33.44/32.40/31.09 dB refined, 35.00/33.70/32.84/31.69 not).
  if (layer && request.refine && editDelta({ original: layer.originalFull, edited: editedFull })) {
    // A flow found at the working size is off by its sub-pixel error times the scale (×2.5 at 720p, ×3.75 at 1080p);
    // the full-size frames hold the detail that pins it. When the edit rides the correspondence's own flow (no edit
    // flow), that flow is the one refined and the base follows it.
    const refined = refineFlowLucasKanade(flow, layer.originalFull, currentFull, request.refine);
    if (flow === base) base = refined;
    flow = refined;
  }
  let warped: RgbFrame;
  if (!layer) warped = backwardWarpRgb(editedFull, base);
  else {
    const ref = { original: layer.originalFull, edited: editedFull };
    // The reference's own detail, moved as the render's base was, is what the frame can confirm or refute; with an
    // edit layer it is also the render's base, so warpEdit takes it rather than warping the full-size frame again.
    const moved = request.detail && ref.edited !== ref.original ? backwardWarpRgb(ref.original, base) : undefined;
    warped = warpEdit(ref, base, flow, moved);
    if (request.detail) warped = gateDetail(warped, moved ?? warped, currentFull, request.current, request.detail);
  }
  if (request.result === request.warped) return { image: warped, flow };
  const { width: W, height: H } = currentFull;
  const delta = resampleFloat(difference(request.result, request.warped), W, H).data;
  // Where synthesis replaced a pixel, the flow there was not trusted (σ > τ): the full-size warp's detail is in the
  // wrong place too, so those pixels come from the synthesised result itself, upscaled (soft edge, no detail).
  const replaced = resampleFloat(synthesisWeight(request.warped, request.result), W, H).data;
  const plain = upscaleBicubic(request.result, W, H).data;
  const out = new Uint8Array(warped.data.length);
  for (let i = 0; i < out.length; i++) {
    const m = replaced[(i / 3) | 0]!;
    const v = (1 - m) * (warped.data[i]! + delta[i]!) + m * plain[i]!;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
  }
  return { image: createFrame(W, H, out), flow };
}

/** 1 where `result` differs from `warped` by more than one level in a channel, softened over 3×3 (one channel). */
function synthesisWeight(warped: RgbFrame, result: RgbFrame): FloatPixels {
  const { width: w, height: h } = warped;
  const m = new Float32Array(w * h);
  for (let i = 0; i < m.length; i++)
    for (let c = 0; c < 3; c++)
      if (Math.abs(result.data[3 * i + c]! - warped.data[3 * i + c]!) > 1) {
        m[i] = 1;
        break;
      }
  return { width: w, height: h, channels: 1, data: boxMean(m, w, h, 1) };
}
