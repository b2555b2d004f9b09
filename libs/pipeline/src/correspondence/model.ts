import { InputError } from '../errors';
import type { FloatImage } from '../image/frame';
import { createFlow, type FlowField } from '../image/warp';
import { createOrtSession, ort } from '../models/onnx';
import { ThreadedOrtSession } from '../models/onnx-thread';
import { PPCE_INPUT_NAMES, PPCE_OUTPUT_NAMES, type CorrespondenceInputs, type CorrespondenceShape } from './io-spec';

/** One prediction at the model resolution. */
export interface CorrespondencePrediction {
  /** Displacement current → reference in model pixels (sample the reference at (x + u, y + v)). */
  readonly flow: FlowField;
  /** The raw `log_sigma` output `[Hm·Wm]`. */
  readonly logSigma: Float32Array;
  /** σ = exp(log σ) per pixel: the Laplace scale of the photometric residual, 0..1 intensities (an uncertainty map). */
  readonly sigma: FloatImage;
}

/**
 * What the model needs of an ONNX Runtime session — one in this thread (`inThread`) or in a worker
 * (`ThreadedOrtSession`): `run` resolves with output arrays the caller owns.
 */
interface ModelSession {
  readonly inputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

/** A session in this thread, its outputs copied out (ONNX Runtime may reuse their buffers on the next run). */
function inThread(session: ort.InferenceSession): ModelSession {
  return {
    inputNames: session.inputNames,
    inputMetadata: session.inputMetadata,
    run: async (feeds) => {
      const out = await session.run(feeds);
      return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Float32Array.from(v.data as Float32Array)]));
    },
    release: () => session.release(),
  };
}

/**
 * The trained PPCE correspondence model running in onnxruntime-node (graph from `exportOnnx`; interface in
 * python/streamedit_trainer/io_spec.py). Fixed input size: read from the graph on load.
 */
export class CorrespondenceModel {
  private constructor(
    private readonly session: ModelSession,
    readonly shape: CorrespondenceShape,
  ) {}

  /**
   * Opens `onnxPath` with the project's ORT settings (`createOrtSession`); `inWorker` runs it in a worker thread
   * (`ThreadedOrtSession`: the event loop stays free during a forward, as a live session needs) [false].
   */
  static async load(onnxPath: string, threads?: number, inWorker = false): Promise<CorrespondenceModel> {
    const session: ModelSession = inWorker
      ? await ThreadedOrtSession.open(onnxPath, threads)
      : inThread(await createOrtSession(onnxPath, threads));
    const names = session.inputNames.join(',');
    if (names !== PPCE_INPUT_NAMES.join(',')) {
      await session.release();
      throw new InputError(`${onnxPath} is not a correspondence model (inputs ${names}); export one with exportOnnx.`);
    }
    return new CorrespondenceModel(session, shapeOf(session));
  }

  /** Runs one (reference, current) pair. */
  async predict(inputs: CorrespondenceInputs): Promise<CorrespondencePrediction> {
    const { width, height, featChannels, featWidth, featHeight } = this.shape;
    const feeds: Record<string, ort.Tensor> = {
      ref_image: tensor('refImage', inputs.refImage, [1, 3, height, width]),
      cur_image: tensor('curImage', inputs.curImage, [1, 3, height, width]),
      ref_feat: tensor('refFeat', inputs.refFeat, [1, featChannels, featHeight, featWidth]),
      cur_feat: tensor('curFeat', inputs.curFeat, [1, featChannels, featHeight, featWidth]),
      init_flow: tensor('initFlow', inputs.initFlow, [1, 2, height, width]),
    };
    const out = await this.session.run(feeds);
    const flow = out[PPCE_OUTPUT_NAMES[0]]!;
    const logSigma = out[PPCE_OUTPUT_NAMES[1]]!;
    const sigma = new Float32Array(logSigma.length);
    for (let i = 0; i < sigma.length; i++) sigma[i] = Math.exp(logSigma[i]!);
    return { flow: createFlow(width, height, flow), logSigma, sigma: { width, height, data: sigma } };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function tensor(name: string, data: Float32Array, dims: number[]): ort.Tensor {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size)
    throw new RangeError(`${name} needs ${dims.slice(1).join('×')} = ${size} floats, got ${data.length}`);
  return new ort.Tensor('float32', data, dims);
}

function shapeOf(session: ModelSession): CorrespondenceShape {
  const dims = (name: string): number[] => {
    const meta = session.inputMetadata.find((m) => m.name === name);
    if (!meta || !meta.isTensor || meta.shape.some((d) => typeof d !== 'number')) {
      throw new InputError(
        `the correspondence model's input ${name} has no fixed shape; re-export it with exportOnnx.`,
      );
    }
    return meta.shape as number[];
  };
  const image = dims('ref_image');
  const feat = dims('ref_feat');
  return { width: image[3]!, height: image[2]!, featChannels: feat[1]!, featWidth: feat[3]!, featHeight: feat[2]! };
}
