import type { CorrespondencePreset } from '@streamedit/pipeline';

/** What every bench that fits the model on real clips takes (ppce, hdtf, live, source-res). */
export interface ClipBenchOptions {
  /** Folder of clips. */
  readonly dir: string;
  /** First N frames of each clip. */
  readonly frames: number;
  readonly preset: CorrespondencePreset;
  /** Override the preset's training iterations. */
  readonly iterations?: number;
  /** The `--clips` list (`selectClips`: whole names or parts of names; each bench documents its default). */
  readonly clips?: readonly string[];
  /** Where per-clip work dirs are kept (analysis and fits reused across runs). */
  readonly cacheDir: string;
}
