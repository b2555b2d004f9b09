import * as ort from 'onnxruntime-node';
import { InputError } from '../errors';
import { settings, settingVariable, type Settings } from '../settings';

/** Execution providers per setting: on CUDA, ONNX Runtime places the ops the GPU lacks on the CPU. */
const PROVIDERS: Readonly<Record<Settings['ortProvider'], string[]>> = { cpu: ['cpu'], cuda: ['cuda', 'cpu'] };

/**
 * Opens an ONNX Runtime session with the project's settings (`STREAMEDIT_ORT_THREADS`, default the core count;
 * `STREAMEDIT_ORT_PROVIDER`, default `cpu`). One place, so every model (XFeat, DINOv2, the correspondence model)
 * runs the same way.
 */
export async function createOrtSession(
  path: string,
  threads = settings().ortThreads,
  provider = settings().ortProvider,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(path, {
      executionProviders: PROVIDERS[provider],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (err) {
    if (provider !== 'cuda' || !/cuda|shared library|provider/i.test(String(err))) throw err;
    throw new InputError(
      `${settingVariable('ortProvider')}=cuda but ONNX Runtime's CUDA provider could not be loaded (${firstLine(err)}): on a machine with an NVIDIA GPU install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12, or set ${settingVariable('ortProvider')}=cpu.`,
      { cause: err },
    );
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

export { ort };
