import {
  editedReferenceFor,
  editWeights,
  renderPropagatedFrame,
  type EditedReference,
  type PropagatedFrame,
  type PropagationInput,
  type PropagationOptions,
} from '../job/propagate';
import type { NearestNeighbourField } from '../synthesis/types';
import type { ScoredCorrespondence } from '../job/model-correspondence';
import type { OnlineArr, ReferenceDecision } from '../arr/online-arr';

/** What a replay of live editing reads per frame: the frame, and its correspondence to a reference with its ARR score. */
export interface OnlineInput extends Pick<PropagationInput, 'frameAt'> {
  readonly scored: (ref: number, cur: number, tau: number) => Promise<ScoredCorrespondence>;
}

/** A frame edited online, with the uncertainty score ARR saw against the reference before it, and why it became one. */
export interface OnlineFrame extends PropagatedFrame {
  readonly score: number;
  readonly cause?: ReferenceDecision['cause'];
}

/**
 * Live editing replayed on frames already analysed: frames `range.start … range.end − 1` are edited one by one
 * from `start`, as a live session edits them — no later frame is known, and online ARR (`arr`) makes a frame whose
 * uncertainty score passes the threshold the new reference, its edit carried over by `editedReferenceFor` from the
 * current one. The reconstruction protocol's streaming split runs it on the frames the model never saw.
 */
export async function* propagateOnline(
  input: OnlineInput,
  start: EditedReference,
  range: { readonly start: number; readonly end: number },
  arr: OnlineArr,
  options: PropagationOptions,
  firstWindow = 0,
): AsyncGenerator<OnlineFrame> {
  let ref = start;
  let window = firstWindow;
  let weights = editWeights(ref.original, ref.edited, options.editRegion);
  let prevNnf: NearestNeighbourField | undefined;
  for (let t = range.start; t < range.end; t++) {
    const current = await input.frameAt(t);
    const { correspondence: c, score } = await input.scored(ref.index, t, options.tau);
    const decision = arr.decide(t, t - ref.index, score);
    if (decision) {
      const edited = await editedReferenceFor(
        ref,
        { index: t, original: current },
        { between: async () => c },
        options.tau,
      );
      arr.accept(t);
      ref = { index: t, original: current, edited };
      weights = editWeights(ref.original, ref.edited, options.editRegion);
      prevNnf = undefined;
      yield {
        index: t,
        window: ++window,
        image: edited,
        isReference: true,
        synthesized: 0,
        synthesisMs: 0,
        score,
        cause: decision.cause,
      };
      continue;
    }
    const r = await renderPropagatedFrame({ ref, current, correspondence: c, weights, prevNnf }, options);
    prevNnf = r.nnf;
    const { image, sigma, synthesized, synthesisMs } = r;
    yield { index: t, window, image, sigma, isReference: false, synthesized, synthesisMs, score };
  }
}
