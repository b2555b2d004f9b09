/**
 * The PPCE model's interface as TypeScript sees it. The one authoritative description (shapes, units, the training
 * data directory) is python/streamedit_trainer/io_spec.py; keep this file in step with it.
 */

/** Input names of the exported ONNX graph, in order. */
export const PPCE_INPUT_NAMES = ['ref_image', 'cur_image', 'ref_feat', 'cur_feat', 'init_flow'] as const;
/** Output names of the exported ONNX graph, in order. */
export const PPCE_OUTPUT_NAMES = ['flow', 'log_sigma'] as const;
/** ONNX opset of the export (torch 1.13 exports grid_sample from 16). */
export const PPCE_ONNX_OPSET = 16;

/**
 * One prediction's inputs, planar float32 (NCHW without N), all at the model resolution `Hm×Wm` except the
 * features (the backbone's grid, e.g. XFeat 64×32×32, L2-normalised per location).
 */
export interface CorrespondenceInputs {
  /** Reference frame `[3, Hm, Wm]`, RGB 0..1 (area-resized from working size: `frameToModelInput`). */
  readonly refImage: Float32Array;
  /** Current frame `[3, Hm, Wm]`, same. */
  readonly curImage: Float32Array;
  /** Reference descriptors `[C, h, w]`. */
  readonly refFeat: Float32Array;
  /** Current-frame descriptors `[C, h, w]`. */
  readonly curFeat: Float32Array;
  /** Landmark-warp displacement current → reference `[2, Hm, Wm]` in model pixels, u then v (zeros: no face). */
  readonly initFlow: Float32Array;
}

/** Shapes the graph was exported with (read from the ONNX file's input metadata). */
export interface CorrespondenceShape {
  /** Model resolution Wm × Hm. */
  readonly width: number;
  readonly height: number;
  /** Feature channels C and grid w × h. */
  readonly featChannels: number;
  readonly featWidth: number;
  readonly featHeight: number;
}

/** Model resolution for a working size: longer side → `side`, both multiples of 8 (io_spec.model_size). */
export function modelSize(width: number, height: number, side: number): { width: number; height: number } {
  const scale = side / Math.max(width, height);
  const r8 = (v: number): number => Math.max(8, Math.round((v * scale) / 8) * 8);
  return { width: r8(width), height: r8(height) };
}

/** The trainer's presets (python/streamedit_trainer/presets.py). */
export type CorrespondencePreset = 'cpu' | 'paper' | 'tiny';

/** Longer side of the model resolution per preset (presets.py `side`). */
export const PRESET_SIDE: Readonly<Record<CorrespondencePreset, number>> = { cpu: 512, paper: 512, tiny: 64 };
