import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { editedReferencePath, workLayout, writeFit, type ReferenceWindow } from '@streamedit/pipeline';
import { editKeyframes } from '../jobs/job-edit-spec';
import { TRAINER_PRESET, type JobRecord, type RenderWindow } from '../jobs/job-record';
import type { ArtifactStore } from './artifact-store';
import { jobKeys, type JobFolder, type JobKeys } from './keys';

/** The analysis folders of a job, as the pipeline's work dir lays them out (`workLayout`) and storage keeps them. */
export type AnalysisFolder = Extract<JobFolder, 'frames' | 'landmarks' | 'features'>;

/** What {@link downloadJobFolder} needs. */
export interface DownloadFolderOptions {
  readonly store: ArtifactStore;
  readonly keys: JobKeys;
  readonly folder: AnalysisFolder;
  /** Local folder (created). */
  readonly dir: string;
  readonly signal?: AbortSignal;
}

/** Downloads a job's `folder` into `dir`; a folder without its metadata was never finished: an error. */
export async function downloadJobFolder(o: DownloadFolderOptions): Promise<void> {
  const prefix = o.keys.folder(o.folder);
  const objects = await o.store.list(prefix);
  if (!objects.some((obj) => obj.key.endsWith('.json'))) {
    throw new Error(`The job's ${o.folder} are not in storage (${prefix}): the analyze stage has not finished.`);
  }
  await mkdir(o.dir, { recursive: true });
  for (const obj of objects) {
    o.signal?.throwIfAborted();
    await o.store.downloadToFile(obj.key, join(o.dir, obj.key.slice(prefix.length)));
  }
}

/** What {@link materializeJobWorkDir} needs. */
export interface MaterializeOptions {
  readonly store: ArtifactStore;
  /** A finished job (state `done`, windows known). */
  readonly record: JobRecord;
  /** Where to lay it out. Default: a new folder under the OS temp dir (`streamedit-job-…`). */
  readonly dir?: string;
  readonly signal?: AbortSignal;
}

/**
 * Lays out a finished job's artifacts as a pipeline work dir (`workLayout`, as `streamedit edit --work-dir` leaves
 * it), for any worker that needs the fitted model locally (live sessions): the analysis (frames/, landmarks/,
 * features/), `model/model.onnx` with its `model/fit.json` (written by the pipeline's `writeFit`, from the job's
 * ARR windows) and each window's edited reference as `edits/ref-{i}.png`, with its source-size edit as
 * `edits/ref-{i}-source.png` (which the train stage stores; a job without them streams at the working size only).
 * Returns the folder; on failure a folder it created is removed. The caller removes it when done.
 */
export async function materializeJobWorkDir(o: MaterializeOptions): Promise<string> {
  const { store, record, signal } = o;
  if (record.state !== 'done' || !record.windows?.length)
    throw new Error(`Job ${record.id} is ${record.state}: only a finished job has a model to lay out.`);
  const keys = jobKeys(record.id);
  const workDir = o.dir ?? (await mkdtemp(join(tmpdir(), 'streamedit-job-')));
  try {
    const dirs = workLayout(workDir);
    for (const folder of ['frames', 'landmarks', 'features'] as const)
      await downloadJobFolder({ store, keys, folder, dir: dirs[folder], signal });
    await mkdir(dirs.model, { recursive: true });
    const onnxPath = join(dirs.model, 'model.onnx');
    await store.downloadToFile(keys.model, onnxPath);
    const keyframes = new Set(editKeyframes(record.edit));
    const windows: ReferenceWindow[] = referenceWindows(record.windows).map((w) => ({
      ...w,
      cause: keyframes.has(w.reference) ? 'keyframe' : 'uncertainty',
    }));
    await mkdir(dirs.edits, { recursive: true });
    for (const [i, w] of windows.entries()) {
      signal?.throwIfAborted();
      await store.downloadToFile(keys.editedReference(w.reference), join(dirs.edits, `ref-${i}.png`));
      if (await store.exists(keys.sourceReference(w.reference)))
        await store.downloadToFile(keys.sourceReference(w.reference), editedReferencePath(workDir, i, 'source'));
    }
    await writeFit(dirs.model, {
      onnxPath,
      windows,
      iterations: record.iterations?.done ?? 0,
      history: [],
      preset: TRAINER_PRESET[record.preset],
      requestedIterations: null,
      iterPerSecond: Number.NaN,
    });
    return workDir;
  } catch (err) {
    if (!o.dir) await rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

/** The ARR windows behind a job's render windows: consecutive chunks of one reference joined again. */
function referenceWindows(
  renderWindows: readonly RenderWindow[],
): Array<Pick<ReferenceWindow, 'reference' | 'start' | 'end'>> {
  const out: Array<{ reference: number; start: number; end: number }> = [];
  for (const w of renderWindows) {
    const last = out[out.length - 1];
    if (last && last.reference === w.reference && last.end === w.start) last.end = w.end;
    else out.push({ reference: w.reference, start: w.start, end: w.end });
  }
  return out;
}
