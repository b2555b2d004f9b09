import * as ort from 'onnxruntime-node';
import { settings } from '../settings';

/**
 * Opens an ONNX Runtime session with the project's thread settings (`STREAMEDIT_ORT_THREADS`, default: the core
 * count). One place, so every model (XFeat, DINOv2, the correspondence model) runs the same way.
 */
export async function createOrtSession(path: string, threads = settings().ortThreads): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

export { ort };
