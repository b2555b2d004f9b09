import { DEFAULT_ARR, type ArrOptions, type ReferenceWindow } from './reference-windows';

/** Why a live frame becomes the new reference. */
export interface ReferenceDecision {
  readonly cause: Extract<ReferenceWindow['cause'], 'uncertainty' | 'max-length'>;
  /** The frame's uncertainty score (fraction of person pixels with σ > τ). */
  readonly score: number;
}

/**
 * Adaptive reference replacement on a live stream (paper 3.2, "streamable"): the offline rule of
 * `replaceReferences` applied frame by frame, since later frames are unknown. The frame that ends a run of
 * `persistence` frames whose uncertainty scores against the current reference pass the threshold — or a frame
 * `maxWindow` frames past it — becomes the new reference, as long as the budget allows: at most `budgetPer100` replacements in any 100 consecutive frames
 * (offline, the budget is per video; a stream has no end, so it slides).
 */
export class OnlineArr {
  /** Replacements within the last 100 frames. */
  private readonly replacedAt: number[] = [];
  private total = 0;
  /** Consecutive frames so far whose score passed the threshold. */
  private run = 0;

  /**
   * @param options threshold, maximum window length and sliding budget [`DEFAULT_ARR`]
   * @param limit replacements allowed in all, on top of the sliding budget [none]: a replay over a finite video
   *   keeps the offline per-video budget with it
   */
  constructor(
    readonly options: ArrOptions = DEFAULT_ARR,
    private readonly limit = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * Whether frame `frame` (scored `score` against the reference it is `sinceReference` frames past) replaces it. Call
   * it once per frame, in order: it counts the run of frames above the threshold.
   */
  decide(frame: number, sinceReference: number, score: number): ReferenceDecision | undefined {
    this.run = score > this.options.threshold ? this.run + 1 : 0;
    const cause =
      this.run >= Math.max(1, this.options.persistence)
        ? 'uncertainty'
        : sinceReference >= this.options.maxWindow
          ? 'max-length'
          : undefined;
    if (!cause || !this.withinBudget(frame)) return undefined;
    return { cause, score };
  }

  /** Records that `frame` became a reference (counts against the budget). */
  accept(frame: number): void {
    this.run = 0;
    this.replacedAt.push(frame);
    this.total++;
  }

  /** Replacements so far. */
  get replacements(): number {
    return this.total;
  }

  private withinBudget(frame: number): boolean {
    if (this.total >= this.limit) return false;
    while (this.replacedAt.length > 0 && this.replacedAt[0]! <= frame - 100) this.replacedAt.shift();
    return this.replacedAt.length < this.options.budgetPer100;
  }
}
