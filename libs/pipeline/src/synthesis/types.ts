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
  /** An extra guide that keeps B′ close to the (aligned) previous output, so the result does not flicker. */
  readonly temporal?: { readonly previousOutput: RgbFrame; readonly weight: number };
}

/** Tuning of `synthesizeGuided`; every field has a default. */
export interface GuidedSynthesisOptions {
  /** Patch side in pixels (odd). Default 5. */
  readonly patchSize?: number;
  /** Pyramid levels (coarse-to-fine). Default: as many as keep the coarsest side ≥ 2·patchSize + 1, at most 6. */
  readonly levels?: number;
  /** PatchMatch passes (propagation + random search, alternating scan order) per EM iteration. Default 2. */
  readonly patchMatchIterations?: number;
  /** EM (search + vote) iterations at the finest level; coarser levels get `+ 1` each up to 2× this. Default 2. */
  readonly emIterations?: number;
  /** Weight of the style term ws·|A′(p) − B′(q)|² over the patch. Default 1. */
  readonly styleWeight?: number;
  /**
   * Weight of the guide term wg·|A(p) − B(q)|² over the patch. Default 4 (measured on 4 clip pairs at 512²:
   * 1 → 34.8 dB, 2 → 36.1, 4 → 37.0, 8 → 37.5 reconstruction; the style term keeps the edit coherent).
   */
  readonly guideWeight?: number;
  /** Weight of the extra term wi·|A′(p) − init(q)|² (only with `init`). Default 0. */
  readonly initWeight?: number;
  /**
   * Random-search radius at levels finer than the coarsest, in pixels of that level (the coarsest searches the
   * whole image). The upsampled field is already close, so a local search suffices. Default 8.
   */
  readonly fineSearchRadius?: number;
  /** Worker threads (1 = synchronous, on the calling thread). Default: setting `STREAMEDIT_SYNTH_THREADS`. */
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
  /** The final field (target → source), to seed the next frame. */
  readonly nnf: NearestNeighbourField;
  readonly timings: SynthesisTimings;
}
