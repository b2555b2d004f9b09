import type { OnlineArr } from '../arr/online-arr';
import type { RgbFrame } from '../image/frame';
import {
  carryReference,
  referenceOptions,
  renderPropagatedFrame,
  type EditedReference,
  type PropagationOptions,
} from '../job/propagate';
import { referenceFrom, type Engine } from './live-engine';
import { liveCorrespondence } from './live-correspondence';
import type { LiveFrame } from './live-frame';
import type { WindowEdit } from './live-source';
import type { EditedLiveFrame, LiveEvent } from './live-types';

/** An edited frame before delivery gives it its index and latency. */
export type EditedFrame = Omit<EditedLiveFrame, 'latencyMs' | 'index'>;

/** Why the reference was replaced (the `reference-replaced` event's fields). */
type ReplacedEvent = Extract<LiveEvent, { type: 'reference-replaced' }>;

/**
 * Edits one analysed frame of a live session against the engine's current reference: a user keyframe or the
 * reference itself comes out as its edit; otherwise the frame is propagated (warp, synthesis where σ > τ,
 * composite) or, when online ARR decides so, becomes the new reference with the current edit carried over to it.
 * Each replacement is reported to `onReplaced`.
 */
export class LiveFrameEditor {
  constructor(
    private readonly propagation: PropagationOptions,
    private readonly arr: OnlineArr | undefined,
    private readonly onReplaced: (event: ReplacedEvent) => void,
  ) {}

  /** One frame: a forced or fitted reference comes out as its edit; others are propagated, or start a new window. */
  async edit(engine: Engine, frame: LiveFrame, analyzeMs: number): Promise<EditedFrame> {
    const cur = engine.current;
    const given = engine.keyframes.get(frame.index);
    const asReference = (image: RgbFrame, score: number, modelMs = 0, renderMs = 0) => ({
      image,
      isReference: true,
      score,
      synthesized: 0,
      referenceFrame: frame.index,
      timingsMs: { analyze: analyzeMs, model: modelMs, render: renderMs },
    });
    // A frame that came in larger than the working size goes out at its size: a reference as its source-size edit.
    const out = (ref: EditedReference) => (frame.source && ref.source ? ref.source.edited : ref.edited);
    if (given && cur.streamIndex !== frame.index) {
      const ref = this.replaceReference(engine, frame, given, { cause: 'keyframe', score: 0 });
      return asReference(out(ref), 0);
    }
    if (cur.streamIndex === frame.index) return asReference(out(cur.edited), 0);
    const { tau } = this.propagation;
    const t0 = performance.now();
    const { correspondence, score } = await liveCorrespondence(engine.model, cur.live, frame, tau);
    const t1 = performance.now();
    const decision = this.arr?.decide(frame.index, frame.index - cur.since, score);
    if (decision) {
      // The pair (current reference, this frame) is exactly what carryReference asks for: reuse its answer.
      const carried = await carryReference(
        cur.edited,
        { index: frame.index, original: frame.image },
        { between: async () => correspondence },
        // As offline (`windowReference`): the session's reference options, not only τ and the lift.
        { ...referenceOptions(this.propagation), originalFull: frame.source },
      );
      this.arr!.accept(frame.index);
      const ref = this.replaceReference(
        engine,
        frame,
        { edited: carried.edited, editedFull: carried.source?.edited },
        decision,
      );
      return asReference(out(ref), score, t1 - t0, performance.now() - t1);
    }
    const source =
      frame.source && cur.sourceWeights ? { current: frame.source, weights: cur.sourceWeights } : undefined;
    const rendered = await renderPropagatedFrame(
      { ref: cur.edited, current: frame.image, correspondence, weights: cur.weights, prevNnf: cur.prevNnf, source },
      this.propagation,
    );
    cur.prevNnf = rendered.nnf;
    const timingsMs = { analyze: analyzeMs, model: t1 - t0, render: performance.now() - t1 };
    return {
      image: rendered.image,
      isReference: false,
      score,
      synthesized: rendered.synthesized,
      referenceFrame: cur.streamIndex,
      timingsMs,
    };
  }

  private replaceReference(
    engine: Engine,
    frame: LiveFrame,
    edit: WindowEdit,
    why: { cause: ReplacedEvent['cause']; score: number },
  ): EditedReference {
    const previous = engine.current.streamIndex;
    const { editRegion } = this.propagation;
    engine.current = referenceFrom(engine.model, frame, edit, frame.index, frame.index, editRegion);
    this.onReplaced({ type: 'reference-replaced', frame: frame.index, score: why.score, cause: why.cause, previous });
    return engine.current.edited;
  }
}
