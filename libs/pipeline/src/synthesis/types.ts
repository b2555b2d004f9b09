import type { RgbFrame } from '../image/frame';

/**
 * A nearest-neighbour field (NNF) from target B to source A: for target pixel i = y·W + x, `data[2i]` and
 * `data[2i + 1]` are the source pixel's x and y (integers, inside the source image). Source and target have the
 * same size in this module.
 */
export interface NearestNeighbourField {
  readonly width: number;
  readonly height: number;
  readonly data: Int32Array;
}

/** What `synthesizeGuided` makes B′ from (image analogy A : A′ :: B : B′, guided by A and B). */
export interface GuidedSynthesisInput {
  /** A′: the image whose look is copied (the edited reference; in reconstruction the reference itself). */
  readonly style: RgbFrame;
  /** A: the original reference, same size as `style`. */
  readonly guideSource: RgbFrame;
  /** B: the real target frame, same size as `style`. */
  readonly guideTarget: RgbFrame;
  /** H×W, nonzero = synthesise this pixel. Default: every pixel. Needs `init` (pixels outside keep it). */
  readonly mask?: Uint8Array;
  /** Initial guess of B′ (e.g. the flow-warped edit); pixels outside `mask` are copied from it exactly. */
  readonly init?: RgbFrame;
  /**
   * Starting correspondence(s), e.g. from the predicted flow (`nnfFromFlow`) and/or the previous frame's field.
   * The first one replaces the default identity start; every one is tried as a candidate at every level.
   */
  readonly initNnf?: NearestNeighbourField | readonly NearestNeighbourField[];
  /**
   * An extra guide wt·|A′(p) − prev(q)|² that keeps B′ close to the previous frame's output, so the result does
   * not flicker. `previousOutput` must already be aligned with this frame (e.g. warped by the flow); `weight` is
   * wt (1 is a good start: on may_theresa 60 → 61 it cut the frame-to-frame change by 20 % for −0.1 dB).
   */
  readonly temporal?: { readonly previousOutput: RgbFrame; readonly weight: number };
}

/** Tuning of `synthesizeGuided`; every field has a default. */
export interface GuidedSynthesisOptions {
  /** Patch side in pixels (odd). Default 5. */
  readonly patchSize?: number;
  /** Pyramid levels (coarse-to-fine). Default and maximum: as many as keep the coarsest side ≥ 2·patchSize + 1, at most 6. */
  readonly levels?: number;
  /** PatchMatch passes (propagation + random search, alternating scan order) per EM iteration. Default 2. */
  readonly patchMatchIterations?: number;
  /** EM (search + vote) iterations at the finest level; coarser levels get `+ 1` each up to 2× this. Default 2. */
  readonly emIterations?: number;
  /** Weight of the style term ws·|A′(p) − B′(q)|² over the patch. Default 1. */
  readonly styleWeight?: number;
  /**
   * Weight of the guide term wg·|A(p) − B(q)|² over the patch. Default 4. Reconstruction (4 clip pairs at 512²,
   * style = guide, fineSearchRadius 8) measured 37.1 / 37.9 / 38.5 dB for wg 2 / 4 / 8 and 39.1 dB with styleWeight 0; the style term
   * is kept because it is what holds an edit's own structure (strokes, texture not in A) together.
   */
  readonly guideWeight?: number;
  /** Weight of the extra term wi·|A′(p) − init(q)|² (only with `init`). Default 0. */
  readonly initWeight?: number;
  /**
   * Random-search radius at the finest level, in pixels (coarser levels always search the whole image). Default
   * Infinity (the whole image): far matches still pay off at full resolution. Measured on 4 clip pairs at 512²,
   * one thread: Infinity → 38.6 dB in 1.6 s, 32 → 38.2 dB / 1.4 s, 8 → 37.9 dB / 1.2 s; with a 15 % mask the
   * radius matters less (0.36 s vs 0.30 s).
   */
  readonly fineSearchRadius?: number;
  /**
   * Threads: the calling thread plus `threads − 1` pooled workers (1 = synchronous, on the calling thread).
   * With more than one, results vary slightly from run to run (propagation reads across chunks race, benignly).
   * Default: setting `STREAMEDIT_SYNTH_THREADS`.
   */
  readonly threads?: number;
  /** Weight each patch's vote by 1 / (1 + its error / scale) instead of a plain average (sharper). Default true. */
  readonly weightedVoting?: boolean;
  /** Seed of the random search, so a run is reproducible (with one thread). Default 1. */
  readonly seed?: number;
}

/** Per-level wall times of one synthesis, in milliseconds. */
export interface SynthesisLevelTiming {
  readonly width: number;
  readonly height: number;
  /** Target pixels searched at this level (the mask dilated by the patch radius). */
  readonly searched: number;
  readonly searchMs: number;
  readonly voteMs: number;
}

export interface SynthesisTimings {
  readonly totalMs: number;
  readonly levels: readonly SynthesisLevelTiming[];
}

export interface GuidedSynthesisResult {
  /** B′: the synthesised target. */
  readonly image: RgbFrame;
  /**
   * The final field (target → source), to seed the next frame. It is optimised on the mask dilated by the patch
   * radius; elsewhere it is the start field carried up the pyramid.
   */
  readonly nnf: NearestNeighbourField;
  readonly timings: SynthesisTimings;
}
