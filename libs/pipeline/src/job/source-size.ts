import type { RgbFrame } from '../image/frame';
import { boxMean, liftFlow, type LiftFlowOptions } from '../image/lift-flow';
import { difference, resampleFloat, upscaleBicubic, type FloatPixels } from '../image/resample';
import { backwardWarpRgb, type FlowField } from '../image/warp';
import { createFrame } from '../image/frame';
import { warpEdit } from './edit-flow';

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
  const base = lift(request.flow);
  const flow = layer && layer.flow !== request.flow ? lift(layer.flow) : base;
  const warped = layer
    ? warpEdit({ original: layer.originalFull, edited: editedFull }, base, flow)
    : backwardWarpRgb(editedFull, base);
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
