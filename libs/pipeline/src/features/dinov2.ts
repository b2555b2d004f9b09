import type { RgbFrame } from '../image/frame';
import { logger } from '../log';
import type { ModelStore } from '../models/model-store';
import { createOrtSession, ort } from '../models/onnx';
import { type Backbone, type FeatureMap, createFeatureMap, l2NormalizeLocations } from './backbone';
import { IMAGENET_NORM, resizeToPlanar } from './resize';

const log = logger('features');

/** DINOv2's ViT patch size: one token per 14×14 pixels. */
export const DINOV2_PATCH = 14;

/** Default longer side of the DINOv2 input: 448 px = 32 patches, the same grid as XFeat's 256² export. */
export const DINOV2_DEFAULT_MAX_SIDE = 448;

/**
 * The input size DINOv2 sees for a frame of `width`×`height`: scaled so the longer side is about `maxSide`
 * (default 448), each side rounded to a multiple of the 14-px patch (at least one patch), so the aspect is kept
 * within half a patch and the token grid is `[h/14, w/14]`.
 */
export function dinov2InputSize(
  width: number,
  height: number,
  maxSide = DINOV2_DEFAULT_MAX_SIDE,
): { width: number; height: number } {
  if (!(width > 0 && height > 0)) throw new RangeError(`frame size ${width}×${height} is empty`);
  const scale = maxSide / Math.max(width, height);
  const snap = (v: number) => Math.max(DINOV2_PATCH, Math.round((v * scale) / DINOV2_PATCH) * DINOV2_PATCH);
  return { width: snap(width), height: snap(height) };
}

export interface Dinov2Options {
  /** Longer side of the input in pixels before snapping to multiples of 14. Default 448. */
  readonly maxSide?: number;
  /** ONNX Runtime intra-op threads. Default `STREAMEDIT_ORT_THREADS`. */
  readonly threads?: number;
}

/**
 * DINOv2 (ViT-S/B/L/G, patch 14) as the frozen backbone, from an ONNX export such as the Hugging Face
 * `onnx-community/dinov2-small` one (input `pixel_values` [1,3,H,W] ImageNet-normalised, output `last_hidden_state`
 * [1, prefix + (H/14)(W/14), C] where prefix is the CLS token plus any register tokens). Returns the patch tokens
 * as `[C, H/14, W/14]`, L2-normalised per location like the XFeat backbone. An export with a fixed input size is
 * fed at that size.
 */
export class Dinov2Backbone implements Backbone {
  readonly name = 'dinov2';

  private constructor(
    readonly modelSha256: string,
    readonly channels: number,
    private readonly session: ort.InferenceSession,
    private readonly outputName: string,
    private readonly fixedInput: { width: number; height: number } | undefined,
    private readonly maxSide: number,
  ) {}

  /** Loads the model of `spec` (a path or URL, optionally `#sha256=HEX`; the value of `STREAMEDIT_DINOV2`). */
  static async load(store: ModelStore, spec: string, options: Dinov2Options = {}): Promise<Dinov2Backbone> {
    const model = await store.resolveSpec(spec, 'dinov2', 'dinov2');
    const session = await createOrtSession(model.path, options.threads);
    const outputName = session.outputNames.includes('last_hidden_state')
      ? 'last_hidden_state'
      : session.outputNames[0]!;
    const fixedInput = fixedSpatialSize(session);
    const maxSide = options.maxSide ?? DINOV2_DEFAULT_MAX_SIDE;
    // The channel count is not always in the metadata: one probe run on a blank input tells it.
    const probeSize = fixedInput ?? { width: 2 * DINOV2_PATCH, height: 2 * DINOV2_PATCH };
    const probe = {
      width: probeSize.width,
      height: probeSize.height,
      data: new Uint8Array(probeSize.width * probeSize.height * 3),
    };
    const backbone = new Dinov2Backbone(model.sha256, 0, session, outputName, fixedInput, maxSide);
    const channels = (await backbone.tokens(probe)).dims[2]!;
    log.info({ path: model.path, channels, fixedInput, outputName }, 'DINOv2 loaded');
    return new Dinov2Backbone(model.sha256, channels, session, outputName, fixedInput, maxSide);
  }

  /** The input size of a frame: the export's fixed size, else `dinov2InputSize(width, height, maxSide)`. */
  inputSize(width: number, height: number): { width: number; height: number } {
    return this.fixedInput ?? dinov2InputSize(width, height, this.maxSide);
  }

  gridSize(width: number, height: number): { width: number; height: number } {
    const s = this.inputSize(width, height);
    return { width: s.width / DINOV2_PATCH, height: s.height / DINOV2_PATCH };
  }

  async extract(frame: RgbFrame): Promise<FeatureMap> {
    const t = await this.tokens(frame);
    const { width: gw, height: gh } = this.gridSize(frame.width, frame.height);
    const [, n, c] = t.dims as readonly number[];
    const prefix = n! - gw * gh;
    if (prefix < 0) throw new Error(`DINOv2 returned ${n} tokens for a ${gw}×${gh} patch grid`);
    const tokens = t.data as Float32Array;
    const hw = gw * gh;
    const out = new Float32Array(c! * hw);
    // [tokens, C] → [C, h, w], skipping the CLS and register tokens at the front.
    for (let p = 0; p < hw; p++) {
      const row = (prefix + p) * c!;
      for (let k = 0; k < c!; k++) out[k * hw + p] = tokens[row + k]!;
    }
    t.dispose();
    return l2NormalizeLocations(createFeatureMap(c!, gw, gh, out));
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  private async tokens(frame: RgbFrame): Promise<ort.Tensor> {
    const { width, height } = this.inputSize(frame.width, frame.height);
    const input = new ort.Tensor('float32', resizeToPlanar(frame, width, height, IMAGENET_NORM), [1, 3, height, width]);
    const out = await this.session.run({ [this.session.inputNames[0]!]: input }, [this.outputName]);
    const t = out[this.outputName]!;
    if (t.dims.length !== 3)
      throw new Error(
        `DINOv2 output ${this.outputName} has shape [${t.dims.join(',')}], expected [1, tokens, channels]`,
      );
    return t;
  }
}

/** The export's H and W when they are fixed numbers in the graph, else undefined (dynamic axes). */
function fixedSpatialSize(session: ort.InferenceSession): { width: number; height: number } | undefined {
  const meta = session.inputMetadata[0];
  if (!meta || !meta.isTensor) return undefined;
  const [, , h, w] = meta.shape;
  return typeof h === 'number' && typeof w === 'number' && h > 0 && w > 0 ? { width: w, height: h } : undefined;
}
