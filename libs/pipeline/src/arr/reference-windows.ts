/**
 * Adaptive reference replacement (ARR, paper 3.2): the video is cut into windows, each propagated from one
 * reference frame. A window is a contiguous frame range that starts at its reference (forward only, so the same
 * rule works on live streams, where later frames are unknown).
 */
export interface ReferenceWindow {
  /** Index of the reference frame; the first frame of the window, except before the first user keyframe. */
  readonly reference: number;
  /** First frame (inclusive): `reference`, or 0 for the first window when the first keyframe is later. */
  readonly start: number;
  /** Last frame (exclusive). */
  readonly end: number;
  /** Why this window exists: the first frame, a user keyframe, an uncertainty score above the threshold, or the maximum window length. */
  readonly cause: 'first' | 'keyframe' | 'uncertainty' | 'max-length';
  /** The uncertainty score (fraction of person pixels with σ > τ) that caused it, when `cause` is `uncertainty`. */
  readonly score?: number;
}

/** ARR parameters. */
export interface ArrOptions {
  /** Score above which a frame starts a new window. Default 0.12 (12 % of person pixels uncertain). */
  readonly threshold: number;
  /** Maximum window length S in frames; `Infinity` for none. Default Infinity. */
  readonly maxWindow: number;
  /** References allowed per 100 frames (the budget always holds). Default 2. */
  readonly budgetPer100: number;
  /**
   * Consecutive frames whose score must pass the threshold before the last of them becomes a reference. Default 10
   * (0.4 s at 25 fps, longer than a blink): a one-frame spike is a transient (a tilt, a blink) that later frames come
   * back from, and such a frame is a worse reference for them than the one they return to — on HDTF KatieHill the
   * reference taken at a one-frame spike cost 2.3 dB over the rest of the clip (docs/benchmarks.md). 1 = the first
   * frame above the threshold, the paper's rule.
   */
  readonly persistence: number;
}

export const DEFAULT_ARR: ArrOptions = {
  threshold: 0.12,
  maxWindow: Number.POSITIVE_INFINITY,
  budgetPer100: 2,
  persistence: 10,
};

/** The reference budget of a video of `frameCount` frames: ceil(budget·N/100), at least 1. */
export function referenceBudget(frameCount: number, budgetPer100 = DEFAULT_ARR.budgetPer100): number {
  return Math.max(1, Math.ceil((budgetPer100 * frameCount) / 100));
}

/** Windows for the given reference indices (sorted, deduplicated; frame 0 or the first keyframe first). */
export function windowsFromReferences(
  frameCount: number,
  references: ReadonlyArray<{ index: number; cause: ReferenceWindow['cause']; score?: number }>,
): ReferenceWindow[] {
  const refs = [...new Map(references.map((r) => [r.index, r])).values()].sort((a, b) => a.index - b.index);
  if (refs.length === 0) refs.push({ index: 0, cause: 'first' });
  return refs.map((r, i) => ({
    reference: r.index,
    start: i === 0 ? 0 : r.index,
    end: i + 1 < refs.length ? refs[i + 1]!.index : frameCount,
    cause: r.cause,
    ...(r.score !== undefined ? { score: r.score } : {}),
  }));
}

/** Each frame's reference index under `windows`. */
export function frameReferences(windows: readonly ReferenceWindow[], frameCount: number): number[] {
  const out = new Array<number>(frameCount);
  for (const w of windows) for (let t = w.start; t < w.end; t++) out[t] = w.reference;
  return out;
}

/**
 * One ARR step at a periodic uncertainty check: given every frame's score against its current window's reference,
 * split each window at the first frame that ends a run of `persistence` frames above the threshold (the same frame
 * online ARR picks, without looking ahead), or where the window outgrows S. The highest scoring splits win when the
 * budget cannot take them all; the budget always holds.
 */
export function replaceReferences(
  windows: readonly ReferenceWindow[],
  scores: ArrayLike<number>,
  options: ArrOptions = DEFAULT_ARR,
): ReferenceWindow[] {
  const frameCount = windows[windows.length - 1]?.end ?? scores.length;
  const budget = referenceBudget(frameCount, options.budgetPer100);
  const candidates: { index: number; cause: ReferenceWindow['cause']; score?: number; rank: number }[] = [];
  for (const w of windows) {
    let run = 0;
    for (let t = w.reference + 1; t < w.end; t++) {
      const s = scores[t] ?? 0;
      run = s > options.threshold ? run + 1 : 0;
      if (run >= Math.max(1, options.persistence)) {
        candidates.push({ index: t, cause: 'uncertainty', score: s, rank: s });
        break;
      }
      if (t - w.reference >= options.maxWindow) {
        candidates.push({ index: t, cause: 'max-length', rank: options.threshold });
        break;
      }
    }
  }
  const room = Math.max(0, budget - windows.length);
  const chosen = candidates.sort((a, b) => b.rank - a.rank).slice(0, room);
  const existing = windows.map((w) => ({ index: w.reference, cause: w.cause, ...(w.score !== undefined ? { score: w.score } : {}) }));
  return windowsFromReferences(
    frameCount,
    [...existing, ...chosen.map(({ index, cause, score }) => ({ index, cause, ...(score !== undefined ? { score } : {}) }))],
  );
}

/** Initial windows: frame 0 plus every user keyframe (user keyframes always force a reference). */
export function initialWindows(frameCount: number, keyframes: readonly number[] = []): ReferenceWindow[] {
  return windowsFromReferences(
    frameCount,
    keyframes.map((index) => ({ index, cause: 'keyframe' as const })),
  );
}
