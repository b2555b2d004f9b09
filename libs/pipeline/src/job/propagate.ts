import type { ReferenceWindow } from '../arr/reference-windows';
import { createFrame, type FloatImage, type RgbFrame } from '../image/frame';
import type { FlowUpsampling } from '../image/lift-flow';
import { backwardWarpPlanar, type FlowField } from '../image/warp';
import { blendSeams } from '../synthesis/blend';
import { nnfFromFlow } from '../synthesis/nnf';
import { dilateMask } from '../synthesis/pyramid';
import { synthesizeGuided } from '../synthesis/synthesize';
import type { NearestNeighbourField } from '../synthesis/types';
import { noProgress, type ProgressListener } from '../progress';
import { DEFAULT_FLOW_ERROR_PX, deliveredSigma } from './delivered-sigma';
import { resampleFloat } from '../image/resample';
import type { FaceShape } from '../landmarks/face-shape';
import { layerFlowFor, warpEdit, type EditFlowSettings } from './edit-flow';
import type { TemporalEditFlowSettings } from './edit-flow-track';
import { carriesEdit, windowFrames } from './window-frames';
import {
  detailGateFor,
  liftRender,
  sourceRefineFor,
  type SourceImages,
  type SourceRefineSettings,
} from './source-size';
import type { DetailGateSettings } from '../image/detail-gate';

/** σ per pixel at working size: the Laplace scale of the photometric residual, in 0..1 intensity units. */
export type UncertaintyMap = FloatImage;

/** The model's answer for one (reference, current) pair, at working size. */
export interface Correspondence {
  readonly flow: FlowField;
  readonly sigma: UncertaintyMap;
  /** The current frame's face (size, lips' seam) at working size, where its landmarks are known: for the edit flow. */
  readonly face?: FaceShape;
}

/** Anything that gives the correspondence of frame `cur` to frame `ref` (the trained model, or a baseline). */
export interface CorrespondenceSource {
  between(ref: number, cur: number): Promise<Correspondence>;
  /**
   * A hint that `between(ref, cur)` will be asked for next: a source whose model runs off the main thread starts it
   * now, so the forward overlaps the caller's work on the frames before it. Optional; changes no result.
   */
  prefetch?(ref: number, cur: number): void;
}

/** Where guided synthesis replaces the warp: nowhere, where σ > τ, or everywhere. */
export type SynthesisMode = 'off' | 'uncertain' | 'full';

/** Propagation settings (TSDoc defaults). */
export interface PropagationOptions {
  /** σ above which a pixel counts as uncertain (0..1 intensity). Default 0.08. */
  readonly tau: number;
  /** Per-frame synthesis of uncertain pixels. Default `uncertain`. */
  readonly synthesis: SynthesisMode;
  /** Where the propagated edit replaces the real frame: `diff` = where the edited reference differs from the original (feathered), `full` = everywhere. Default `diff`. */
  readonly editRegion: 'diff' | 'full';
  /** How flow is lifted from the working size to the source size (renders at source size only). Default `bilinear`. */
  readonly upsampling?: FlowUpsampling;
  /** The correspondence's typical sub-pixel error (px) that the output's σ carries through the edit ({@link deliveredSigma}). Default 0.4. */
  readonly flowErrorPx?: number;
  /**
   * The flow that carries the user's edit layer ({@link editFlow}): the correspondence's flow smoothed within image
   * regions, or `off` for the correspondence's flow itself. Default {@link DEFAULT_EDIT_FLOW}.
   */
  readonly editFlow?: EditFlowSettings | 'off';
  /**
   * Offline only: the edit flow smoothed along each pixel's trajectory over ±radius frames ({@link EditFlowTrack}),
   * or `off`. Default {@link DEFAULT_TEMPORAL_EDIT_FLOW}. Live sessions, which cannot look ahead, use the spatial one.
   */
  readonly temporalEditFlow?: TemporalEditFlowSettings | 'off';
  /**
   * Renders at the source size only: the lifted edit flow refined against the full-size frames, or `off`.
   * Default {@link DEFAULT_SOURCE_REFINE}.
   */
  readonly sourceRefine?: SourceRefineSettings | 'off';
  /**
   * Renders at the source size only: the full-size detail kept where the reference's detail lines up with the
   * frame's ({@link gateDetail}), or `off` to keep all of it. Default {@link DEFAULT_DETAIL_GATE}.
   */
  readonly detail?: DetailGateSettings | 'off';
}

export const DEFAULT_PROPAGATION: PropagationOptions = { tau: 0.08, synthesis: 'uncertain', editRegion: 'diff' };

export interface PropagatedFrame {
  readonly index: number;
  readonly window: number;
  readonly image: RgbFrame;
  readonly sigma?: UncertaintyMap;
  /** σ of each delivered pixel ({@link deliveredSigma}): what the σ video shows (absent for a reference). */
  readonly outputSigma?: UncertaintyMap;
  readonly isReference: boolean;
  /** Fraction of pixels re-synthesised. */
  readonly synthesized: number;
  /** Wall time of this frame's guided synthesis (0 without). */
  readonly synthesisMs: number;
}

export interface PropagationInput {
  readonly frameAt: (index: number) => Promise<RgbFrame>;
  readonly windows: readonly ReferenceWindow[];
  /** Edited keyframes by frame index (window 0's reference must be among them). */
  readonly edits: ReadonlyMap<number, RgbFrame>;
  readonly correspondence: CorrespondenceSource;
  /**
   * Frame `index` at the source size: when given (with `sourceEdits`), references carry their full-size edit and
   * frames are rendered at the source size; without, everything stays at working size.
   */
  readonly sourceFrameAt?: (index: number) => Promise<RgbFrame>;
  /** Edited keyframes at the source size, by frame index (the same keys as `edits`). */
  readonly sourceEdits?: ReadonlyMap<number, RgbFrame>;
}

/** Mask (0/1) of pixels with σ > τ, dilated by 2 px so the synthesised region covers the edge of the error. */
export function uncertainMask(sigma: UncertaintyMap, tau: number): Uint8Array {
  const m = new Uint8Array(sigma.width * sigma.height);
  for (let i = 0; i < m.length; i++) m[i] = sigma.data[i]! > tau ? 1 : 0;
  return dilateMask(m, sigma.width, sigma.height, 2);
}

/**
 * The edited reference of a window after the first (paper 3.2): the previous window's edited reference warped
 * onto the new reference by the model, then only the pixels whose σ is above τ re-synthesised by guided patch
 * synthesis (A = previous original reference, A′ = its edit, B = the new reference).
 */
export async function editedReferenceFor(
  prev: EditedReference,
  next: { index: number; original: RgbFrame },
  correspondence: CorrespondenceSource,
  tau: number,
): Promise<RgbFrame> {
  return (await carryReference(prev, next, correspondence, { tau })).edited;
}

/**
 * {@link editedReferenceFor}, also at the source size when `prev` has its full-size edit and `originalFull` (the new
 * reference at source size) is given: the same synthesis at working size, lifted by {@link liftRender}.
 */
export async function carryReference(
  prev: EditedReference,
  next: { index: number; original: RgbFrame },
  correspondence: CorrespondenceSource,
  options: ReferenceOptions & { originalFull?: RgbFrame },
): Promise<EditedReference> {
  const c = await correspondence.between(prev.index, next.index);
  const layer = layerFlowFor(c.flow, { ref: prev, current: next.original, face: c.face }, options);
  const warped = warpEdit(prev, c.flow, layer);
  const mask = uncertainMask(c.sigma, options.tau);
  const result = await synthesizeGuided({
    style: prev.edited,
    guideSource: prev.original,
    guideTarget: next.original,
    mask,
    init: warped,
    initNnf: nnfFromFlow(c.flow),
  });
  const edited = blendSeams(warped, result.image, mask);
  if (!prev.source || !options.originalFull) return { ...next, edited };
  const full = liftRender({
    warped,
    result: edited,
    flow: c.flow,
    current: next.original,
    currentFull: options.originalFull,
    editedFull: prev.source.edited,
    layer: { flow: layer, originalFull: prev.source.original },
    upsampling: { mode: options.upsampling },
    detail: detailGateFor(options.detail),
    refine: sourceRefineFor(options.sourceRefine, {
      work: next.original,
      full: options.originalFull,
      face: c.face,
      editFlow: options.editFlow,
    }),
  });
  return { ...next, edited, source: { original: options.originalFull, edited: full.image } };
}

/** Where the edit applies, from the difference of the edited and original reference (feathered weights 0..1). */
export function editWeights(
  original: RgbFrame,
  edited: RgbFrame,
  mode: PropagationOptions['editRegion'],
): Float32Array {
  const n = original.width * original.height;
  const w = new Float32Array(n);
  if (mode === 'full') return w.fill(1);
  const changed = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const d =
      Math.abs(original.data[3 * i]! - edited.data[3 * i]!) +
      Math.abs(original.data[3 * i + 1]! - edited.data[3 * i + 1]!) +
      Math.abs(original.data[3 * i + 2]! - edited.data[3 * i + 2]!);
    changed[i] = d > 12 ? 1 : 0;
  }
  const grown = dilateMask(changed, original.width, original.height, 3);
  const wide = dilateMask(grown, original.width, original.height, 3);
  for (let i = 0; i < n; i++) w[i] = grown[i] ? 1 : wide[i] ? 0.5 : 0;
  return w;
}

/** A window's reference frame with its edit: what every frame of the window is propagated from. */
export interface EditedReference {
  readonly index: number;
  readonly original: RgbFrame;
  readonly edited: RgbFrame;
  /** The same at the source size, when the output is rendered at the source size. */
  readonly source?: SourceImages;
}

/**
 * The edited reference of `window`: the user's edit when its reference is an edited keyframe, otherwise the previous
 * window's edited reference carried over by {@link editedReferenceFor}.
 */
export async function windowReference(
  input: ReferenceInput,
  window: Pick<ReferenceWindow, 'reference'>,
  prev: EditedReference | undefined,
  options: ReferenceOptions,
): Promise<EditedReference> {
  const index = window.reference;
  const original = await input.frameAt(index);
  const full = input.sourceFrameAt && input.sourceEdits ? await input.sourceFrameAt(index) : undefined;
  const given = input.edits.get(index);
  if (given) {
    const editedFull = input.sourceEdits?.get(index);
    if (full && !editedFull) throw new RangeError(`keyframe ${index} has no edit at the source size`);
    return {
      index,
      original,
      edited: given,
      source: full && editedFull ? { original: full, edited: editedFull } : undefined,
    };
  }
  if (!prev) throw new RangeError(`window 0 (reference ${index}) has no edited keyframe`);
  return carryReference(prev, { index, original }, input.correspondence, { ...options, originalFull: full });
}

/** What carrying a reference over depends on ({@link PropagationOptions}). */
export type ReferenceOptions = Pick<PropagationOptions, 'tau' | 'upsampling' | 'editFlow' | 'sourceRefine' | 'detail'>;

/** The {@link ReferenceOptions} picked out of a propagation's options (a live session's, for the references ARR carries). */
export function referenceOptions(o: PropagationOptions): ReferenceOptions {
  return { tau: o.tau, upsampling: o.upsampling, editFlow: o.editFlow, sourceRefine: o.sourceRefine, detail: o.detail };
}

/** What the edited references are built from. */
export type ReferenceInput = Pick<
  PropagationInput,
  'frameAt' | 'edits' | 'correspondence' | 'sourceFrameAt' | 'sourceEdits'
>;

/**
 * Every window's edited reference in window order: window i's comes from window i−1's (or is a user keyframe).
 * Computing them all first is what lets the windows themselves render independently (in parallel on a farm).
 */
export async function* windowReferences(
  input: ReferenceInput,
  windows: ReadonlyArray<Pick<ReferenceWindow, 'reference'>>,
  options: ReferenceOptions,
): AsyncGenerator<EditedReference> {
  let prev: EditedReference | undefined;
  for (const window of windows) {
    prev = await windowReference(input, window, prev, options);
    yield prev;
  }
}

/**
 * Propagates one window's edited reference to each of its frames, in index order. Per frame: warp the edited
 * reference by the predicted flow, re-synthesise uncertain pixels (guided by the real frame, seeded by the flow and
 * the previous frame's field), and composite over the real frame where the edit applies. Windows are independent
 * once their edited reference is known, so a farm renders each on its own.
 */
export async function* propagateWindow(
  input: Pick<PropagationInput, 'frameAt' | 'correspondence' | 'sourceFrameAt'>,
  window: Pick<ReferenceWindow, 'start' | 'end'>,
  windowIndex: number,
  ref: EditedReference,
  propagation: PropagationOptions = DEFAULT_PROPAGATION,
): AsyncGenerator<PropagatedFrame> {
  // A reference without an edit (a reconstruction) needs no edit flow: its output is the reference warped by the flow.
  const options: PropagationOptions = carriesEdit(ref) ? propagation : { ...propagation, editFlow: 'off' };
  const weights = editWeights(ref.original, ref.edited, options.editRegion);
  // At the source size the edit region is found on the full-size pair (its edges are the output's edges).
  const sourceWeights =
    ref.source && input.sourceFrameAt
      ? editWeights(ref.source.original, ref.source.edited, options.editRegion)
      : undefined;
  const full = sourceWeights && input.sourceFrameAt ? input.sourceFrameAt : undefined;
  let prevNnf: NearestNeighbourField | undefined;
  for await (const f of windowFrames(input, window, ref, options, full)) {
    const t = f.t;
    const frame: RenderedFrame = !f.correspondence
      ? { image: ref.source && full ? ref.source.edited : ref.edited, synthesized: 0, synthesisMs: 0 }
      : await renderPropagatedFrame(
          {
            ref,
            current: f.current!,
            correspondence: f.correspondence,
            weights,
            prevNnf,
            source: full ? { current: f.sourceCurrent!, weights: sourceWeights! } : undefined,
            layerFlow: f.layerFlow,
          },
          options,
        );
    prevNnf = frame.nnf;
    yield {
      index: t,
      window: windowIndex,
      image: frame.image,
      sigma: frame.sigma,
      outputSigma: frame.outputSigma,
      isReference: t === ref.index,
      synthesized: frame.synthesized,
      synthesisMs: frame.synthesisMs,
    };
  }
}

/**
 * Propagates the edit through every window in order (window i needs window i−1's edited reference). Yields frames
 * in index order.
 */
export async function* propagateEdit(
  input: PropagationInput,
  options: PropagationOptions = DEFAULT_PROPAGATION,
  onProgress: ProgressListener = noProgress,
): AsyncGenerator<PropagatedFrame> {
  const total = input.windows[input.windows.length - 1]!.end;
  let done = 0;
  let prev: EditedReference | undefined;
  for (const [wi, window] of input.windows.entries()) {
    const ref = await windowReference(input, window, prev, options);
    for await (const frame of propagateWindow(input, window, wi, ref, options)) {
      yield frame;
      onProgress({ stage: 'render', done: ++done, total });
    }
    prev = ref;
  }
}

/** One frame rendered from its window's edited reference. */
export interface RenderedFrame {
  readonly image: RgbFrame;
  /** σ against the reference (absent for the reference itself). */
  readonly sigma?: UncertaintyMap;
  /**
   * σ of each delivered pixel, at the output's size ({@link deliveredSigma}; absent for the reference itself): the
   * source size when rendered there.
   */
  readonly outputSigma?: UncertaintyMap;
  /** Fraction of pixels re-synthesised. */
  readonly synthesized: number;
  /** Wall time of the guided synthesis (0 without). */
  readonly synthesisMs: number;
  /** The synthesis field, to seed the next frame of the same window (absent when nothing was synthesised). */
  readonly nnf?: NearestNeighbourField;
}

/** What {@link renderPropagatedFrame} needs for one frame that is not its window's reference. */
export interface FrameToRender {
  readonly ref: EditedReference;
  /** The real frame at working size. */
  readonly current: RgbFrame;
  /** The correspondence of `current` to `ref` at working size. */
  readonly correspondence: Correspondence;
  /** {@link editWeights} of `ref` (computed once per window). */
  readonly weights: Float32Array;
  /** The previous frame's synthesis field in the same window, if any. */
  readonly prevNnf?: NearestNeighbourField;
  /**
   * Render at the source size: `current` at source size and the {@link editWeights} of `ref.source` (which must be
   * set). The output image is then at the source size; σ stays at working size.
   */
  readonly source?: { readonly current: RgbFrame; readonly weights: Float32Array };
  /** The flow that carries the edit layer, when already known (smoothed along time); else {@link layerFlowFor}. */
  readonly layerFlow?: FlowField;
}

/**
 * THE per-frame render, shared by offline propagation and live sessions: warp the edited reference by the flow,
 * re-synthesise uncertain pixels (guided by the real frame, seeded by the flow and the previous frame's field), and
 * composite over the real frame where the edit applies.
 */
export async function renderPropagatedFrame(
  frame: FrameToRender,
  options: PropagationOptions = DEFAULT_PROPAGATION,
): Promise<RenderedFrame> {
  const { ref, current, correspondence: c, weights, prevNnf } = frame;
  const layer = frame.layerFlow ?? layerFlowFor(c.flow, { ref, current, face: c.face }, options);
  const warped = warpEdit(ref, c.flow, layer);
  let image = warped;
  let synthesized = 0;
  let nnf: NearestNeighbourField | undefined;
  const t0 = performance.now();
  if (options.synthesis !== 'off') {
    const mask =
      options.synthesis === 'full'
        ? new Uint8Array(current.width * current.height).fill(1)
        : uncertainMask(c.sigma, options.tau);
    for (const m of mask) synthesized += m;
    if (synthesized > 0) {
      const flowNnf = nnfFromFlow(c.flow);
      const result = await synthesizeGuided({
        style: ref.edited,
        guideSource: ref.original,
        guideTarget: current,
        mask,
        init: image,
        initNnf: prevNnf ? [flowNnf, prevNnf] : flowNnf,
      });
      image = options.synthesis === 'full' ? result.image : blendSeams(image, result.image, mask);
      nnf = result.nnf;
    }
    synthesized /= mask.length;
  }
  const synthesisMs = performance.now() - t0;
  if (frame.source) {
    if (!ref.source) throw new RangeError(`reference ${ref.index} has no source-size edit`);
    const full = liftRender({
      warped,
      result: image,
      flow: c.flow,
      current,
      currentFull: frame.source.current,
      editedFull: ref.source.edited,
      layer: { flow: layer, originalFull: ref.source.original },
      upsampling: { mode: options.upsampling },
      detail: detailGateFor(options.detail),
      refine: sourceRefineFor(options.sourceRefine, {
        work: current,
        full: frame.source.current,
        face: c.face,
        editFlow: options.editFlow,
      }),
    });
    const { width: W, height: H } = frame.source.current;
    const fullWeights = warpWeights(frame.source.weights, full.flow);
    // σ at the size the pixels are delivered: a flow error shows on the full-size edit's own edges, which σ
    // upsampled from the working size blurs away (km720-s18, 5 frames: AUROC 0.776 upsampled → 0.915 here).
    const scale = W / current.width;
    const outputSigma = deliveredSigma(
      resampleFloat({ ...c.sigma, channels: 1 }, W, H),
      full.image,
      fullWeights,
      (options.flowErrorPx ?? DEFAULT_FLOW_ERROR_PX) * scale,
    );
    return {
      image: composite(frame.source.current, full.image, fullWeights),
      sigma: c.sigma,
      outputSigma,
      synthesized,
      synthesisMs,
      nnf,
    };
  }
  // At working size only: a source-size render composites (and gives σ) with the full-size weights instead.
  const w = warpWeights(weights, layer);
  return {
    image: composite(current, image, w),
    sigma: c.sigma,
    outputSigma: deliveredSigma(c.sigma, image, w, options.flowErrorPx),
    synthesized,
    synthesisMs,
    nnf,
  };
}

function warpWeights(weights: Float32Array, flow: FlowField): Float32Array {
  let all = true;
  for (const w of weights)
    if (w !== 1) {
      all = false;
      break;
    }
  return all ? weights : backwardWarpPlanar(weights, 1, flow);
}

/** out = w·edit + (1 − w)·real. */
function composite(real: RgbFrame, edit: RgbFrame, weights: Float32Array): RgbFrame {
  const out = new Uint8Array(real.data.length);
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    for (let c = 0; c < 3; c++)
      out[3 * i + c] = Math.round(w * edit.data[3 * i + c]! + (1 - w) * real.data[3 * i + c]!);
  }
  return createFrame(real.width, real.height, out);
}
