import type { RgbFrame } from '../image/frame';
import { logger } from '../log';
import { createOrtSession, ort } from '../models/onnx';
import type { ModelStore } from '../models/model-store';
import { type Backbone, type FeatureMap, createFeatureMap, l2NormalizeLocations } from './backbone';
import { UNIT_RANGE, resizeToPlanar } from './resize';

const log = logger('features');

/** The XFeat exports in the model registry, by their fixed input size. */
export const XFEAT_VARIANTS = {
  xfeat_256x256: { width: 256, height: 256 },
  xfeat_320x224: { width: 320, height: 224 },
} as const;
export type XFeatVariant = keyof typeof XFEAT_VARIANTS;

/** XFeat's descriptor head works at 1/8 of the input resolution and has 64 channels. */
const STRIDE = 8;
const CHANNELS = 64;

/**
 * XFeat (Potje et al., CVPR 2024) as the frozen backbone: 64-d dense descriptors at 1/8 of a fixed input size.
 * The frame is bilinearly resized to the export's input (256×256, or 320×224 for landscape) whatever its aspect,
 * fed as RGB in 0..1 — the graph itself averages to gray and instance-normalises (so brightness and contrast
 * shifts do not change the descriptors) — and the `output` descriptors are L2-normalised per location, as
 * XFeat's own matcher does before comparing them by cosine.
 */
export class XFeatBackbone implements Backbone {
  readonly channels = CHANNELS;
  private readonly input: { width: number; height: number };

  private constructor(
    readonly name: XFeatVariant,
    readonly modelSha256: string,
    private readonly session: ort.InferenceSession,
    private readonly outputName: string,
  ) {
    this.input = XFEAT_VARIANTS[name];
  }

  /** Loads an XFeat export through the model store (default `xfeat_256x256`; threads: `STREAMEDIT_ORT_THREADS`). */
  static async load(
    store: ModelStore,
    variant: XFeatVariant = 'xfeat_256x256',
    threads?: number,
  ): Promise<XFeatBackbone> {
    const model = await store.locate(variant);
    const session = await createOrtSession(model.path, threads);
    // The descriptor output is named `output` in the published exports; the two heads have numeric names.
    const outputName = session.outputNames.includes('output') ? 'output' : session.outputNames[0]!;
    log.debug(
      { model: variant, path: model.path, inputs: session.inputNames, outputs: session.outputNames },
      'XFeat loaded',
    );
    return new XFeatBackbone(variant, model.sha256, session, outputName);
  }

  gridSize(): { width: number; height: number } {
    return { width: this.input.width / STRIDE, height: this.input.height / STRIDE };
  }

  /** Input tensor `[1, 3, H, W]` of a frame: bilinear resize to the export's size, RGB 0..1. */
  prepare(frame: RgbFrame): ort.Tensor {
    const { width, height } = this.input;
    return new ort.Tensor('float32', resizeToPlanar(frame, width, height, UNIT_RANGE), [1, 3, height, width]);
  }

  async extract(frame: RgbFrame): Promise<FeatureMap> {
    const feeds = { [this.session.inputNames[0]!]: this.prepare(frame) };
    const out = await this.session.run(feeds, [this.outputName]);
    const t = out[this.outputName]!;
    const [, c, h, w] = t.dims as readonly number[];
    if (c !== CHANNELS || w !== this.gridSize().width || h !== this.gridSize().height) {
      throw new Error(
        `XFeat ${this.name} returned [${t.dims.join(',')}], expected [1,${CHANNELS},${this.gridSize().height},${this.gridSize().width}]`,
      );
    }
    // Copy: the tensor's buffer belongs to onnxruntime and may be reused by the next run.
    const map = createFeatureMap(c, w!, h!, Float32Array.from(t.data as Float32Array));
    t.dispose();
    return l2NormalizeLocations(map);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
