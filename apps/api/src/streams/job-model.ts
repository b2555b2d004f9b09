import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, workLayout, type ReferenceWindow } from '@streamedit/pipeline';
import { jobKeys, type ArtifactStore, type JobRepository, type RenderWindow } from '@streamedit/farm';

/** The job is unknown, or not finished: a live stream needs its model and its edited references. */
export class JobNotStreamableError extends InputError {
  constructor(
    message: string,
    readonly status: 404 | 409,
  ) {
    super(message);
  }
}

/**
 * Downloads what a live session needs of a finished farm job into a new work dir laid out like
 * `streamedit edit --work-dir` (see `workLayout`): the analysis (frames/, landmarks/, features/), the model
 * (`model/model.onnx` + a `model/fit.json` from the job's windows) and each window's edited reference
 * (`references/{t}.png` → `edits/ref-{i}.png`). The caller removes the folder (the session does, with
 * `disposeWorkDir`).
 */
export async function downloadJobModel(jobs: JobRepository, store: ArtifactStore, jobId: string): Promise<string> {
  const job = await jobs.get(jobId);
  if (!job) throw new JobNotStreamableError(`Job ${jobId} does not exist: give the id of a finished job.`, 404);
  if (job.state !== 'done' || !job.windows?.length) {
    throw new JobNotStreamableError(
      `Job ${jobId} is ${job.state}, not done: a live stream needs a finished job's model and edit.`,
      409,
    );
  }
  const keys = jobKeys(jobId);
  const workDir = await mkdtemp(join(tmpdir(), 'streamedit-stream-'));
  try {
    const dirs = workLayout(workDir);
    for (const folder of ['frames', 'landmarks', 'features'] as const) {
      const prefix = keys.folder(folder);
      await mkdir(dirs[folder], { recursive: true });
      for (const o of await store.list(prefix))
        await store.downloadToFile(o.key, join(dirs[folder], o.key.slice(prefix.length)));
    }
    await mkdir(dirs.model, { recursive: true });
    const onnxPath = join(dirs.model, 'model.onnx');
    await store.downloadToFile(keys.model, onnxPath);
    const keyframes = new Set(job.edit.kind === 'keyframes' ? job.edit.keyframes.map((k) => k.at) : [job.edit.at ?? 0]);
    const windows: ReferenceWindow[] = referenceWindows(job.windows).map((w) => ({
      ...w,
      cause: keyframes.has(w.reference) ? 'keyframe' : 'uncertainty',
    }));
    await writeFile(
      join(dirs.model, 'fit.json'),
      JSON.stringify({ onnxPath, windows, iterations: job.iterations?.done ?? 0, history: [] }),
    );
    await mkdir(dirs.edits, { recursive: true });
    for (const [i, w] of windows.entries())
      await store.downloadToFile(keys.editedReference(w.reference), join(dirs.edits, `ref-${i}.png`));
    return workDir;
  } catch (err) {
    await rm(workDir, { recursive: true, force: true });
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
