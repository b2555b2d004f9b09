import type { FaceShape } from '../landmarks/face-shape';
import type { RgbFrame } from '../image/frame';
import type { FlowField } from '../image/warp';
import { coarseLayerFlowFor, editDelta, fineLayerFlow, type EditFlowSettings } from './edit-flow';
import { EditFlowTrack, DEFAULT_TEMPORAL_EDIT_FLOW, type TemporalEditFlowSettings } from './edit-flow-track';

/** What {@link windowFrames} reads (structurally the propagation's input and correspondence). */
interface FrameInput<C extends { readonly flow: FlowField; readonly face?: FaceShape }> {
  readonly frameAt: (index: number) => Promise<RgbFrame>;
  readonly correspondence: { between(ref: number, cur: number): Promise<C>; prefetch?(ref: number, cur: number): void };
}

/** One frame of a window, ready to render (the reference has only its source-size frame, if any). */
export interface WindowFrame<C> {
  readonly t: number;
  readonly current?: RgbFrame;
  readonly correspondence?: C;
  /** The frame at the source size, when rendering at the source size. */
  readonly sourceCurrent?: RgbFrame;
  /** The edit flow smoothed along time ({@link EditFlowTrack}); absent → the renderer computes the frame's own. */
  readonly layerFlow?: FlowField;
}

/** True when the edited reference differs from its original anywhere (a reconstruction carries no edit). */
export function carriesEdit(ref: { readonly original: RgbFrame; readonly edited: RgbFrame }): boolean {
  return editDelta(ref) !== undefined;
}

/**
 * The frames of one window in index order, each with its correspondence to the window's reference. With the
 * temporal edit flow on (and an edit to carry), frames are read `radius` ahead so each frame's edit flow can be
 * smoothed along time; the sequential readers (model, full-size decoder) are still called in index order.
 */
export async function* windowFrames<C extends { readonly flow: FlowField; readonly face?: FaceShape }>(
  input: FrameInput<C>,
  window: { readonly start: number; readonly end: number },
  ref: { readonly index: number; readonly original: RgbFrame; readonly edited: RgbFrame },
  options: {
    readonly editFlow?: EditFlowSettings | 'off';
    readonly temporalEditFlow?: TemporalEditFlowSettings | 'off';
  },
  sourceFrameAt?: (index: number) => Promise<RgbFrame>,
): AsyncGenerator<WindowFrame<C>> {
  const load = async (t: number): Promise<WindowFrame<C>> => {
    const sourceCurrent = sourceFrameAt ? await sourceFrameAt(t) : undefined; // keeps a sequential reader in step
    if (t === ref.index) return { t, sourceCurrent };
    const current = await input.frameAt(t);
    const asked = input.correspondence.between(ref.index, t);
    // The next frame's forward runs (off the main thread, where the source can) while this one is rendered.
    if (t + 1 < window.end && t + 1 !== ref.index) input.correspondence.prefetch?.(ref.index, t + 1);
    return { t, current, correspondence: await asked, sourceCurrent };
  };
  const temporal = options.temporalEditFlow ?? DEFAULT_TEMPORAL_EDIT_FLOW;
  if (temporal === 'off' || options.editFlow === 'off' || !carriesEdit(ref)) {
    for (let t = window.start; t < window.end; t++) yield await load(t);
    return;
  }
  const track = new EditFlowTrack(ref.index, window, temporal);
  const pending = new Map<number, WindowFrame<C>>();
  let next = window.start;
  for (let t = window.start; t < window.end; t++) {
    for (; next <= track.needs(t); next++) {
      const f = await load(next);
      if (f.correspondence)
        track.add(
          next,
          coarseLayerFlowFor(f.correspondence.flow, { ref, current: f.current!, face: f.correspondence.face }, options),
        );
      pending.set(next, f);
    }
    const f = pending.get(t)!;
    pending.delete(t);
    if (!f.correspondence) {
      yield f;
      continue;
    }
    const fitted = track.at(t, { reference: ref.original, current: f.current! });
    yield {
      ...f,
      layerFlow: fineLayerFlow(fitted, { ref, current: f.current!, face: f.correspondence.face }, options),
    };
  }
}
