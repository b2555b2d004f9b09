import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorrespondenceModel } from '../correspondence/model';
import { InputError } from '../errors';
import { liveModelThreads, openResources, userKeyframes, type EngineSource } from './live-engine';
import { loadStartReference, readFittedEdit, type WindowEdit } from './live-source';
import type { FromWorkDirOptions, WarmUpOptions } from './live-types';
import { checkWarmUpEdit } from './warmup';

/** What a live session is made of: where its engine comes from, the resources it owns, what to remove at close. */
export interface SessionStart {
  readonly source: EngineSource;
  readonly resources: Awaited<ReturnType<typeof openResources>>;
  readonly cleanup: () => Promise<void>;
}

/**
 * Mode (a): a finished edit's work dir, its model loaded and its start reference read; the landmark browser is
 * started now, so the first frame does not pay for it. On failure nothing is left open.
 */
export async function startFitted(workDir: string, options: FromWorkDirOptions): Promise<SessionStart> {
  const fitted = await readFittedEdit(workDir);
  const resources = await openResources(options);
  let model: CorrespondenceModel | undefined;
  try {
    model = await CorrespondenceModel.load(fitted.onnxPath, liveModelThreads(fitted.preset, options), true);
    const window = options.window ?? 0;
    const start = await loadStartReference(fitted, window, model.shape);
    const keyframes = options.sameVideo ? await userKeyframes(fitted) : new Map<number, WindowEdit>();
    const startIndex = options.sameVideo ? fitted.windows[window]!.reference : null;
    const cleanup = async () => {
      if (options.disposeWorkDir) await rm(workDir, { recursive: true, force: true });
    };
    return { source: { kind: 'fitted', fitted, start, model, keyframes, startIndex }, resources, cleanup };
  } catch (err) {
    await model?.release();
    await resources.release();
    throw err;
  }
}

/** Mode (b): a warm-up on the stream's first frames (checked now), in `options.workDir` or a temp dir. */
export async function startWarmUp(options: WarmUpOptions): Promise<SessionStart> {
  if (!Number.isInteger(options.frames) || options.frames < 2)
    throw new InputError(`The warm-up needs at least 2 frames, got ${options.frames}.`);
  checkWarmUpEdit(options.edit, options.frames);
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'streamedit-live-')));
  const resources = await openResources(options).catch(async (err: unknown) => {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
    throw err;
  });
  const cleanup = async () => {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  };
  return { source: { kind: 'warm-up', options, workDir }, resources, cleanup };
}
