/**
 * THE key layout of the artifact store (S3 bucket or local folder). Every key of a job lives under `jobs/{id}/`:
 *
 * ```
 * jobs/{id}/input                    the uploaded video, as received
 * jobs/{id}/edit/keyframe-{k}.png    edited keyframe k (k = 0, 1, …; its frame index is in the job record)
 * jobs/{id}/edit/overlay.png         an overlay image edit
 * jobs/{id}/frames/…                 decoded frames at the working resolution (analyze)
 * jobs/{id}/landmarks/…              face landmarks per frame (analyze)
 * jobs/{id}/features/…               backbone features per frame (analyze)
 * jobs/{id}/checkpoints/iter-{n}     training checkpoint after iteration n (train; resumes a retried attempt); the
 *                                    pipeline stages keep the check's files under it: checkpoints/iter-{n}/{file}
 * jobs/{id}/model.onnx               the trained correspondence model (train)
 * jobs/{id}/training.json            what training did: ARR windows and their causes, checks, resumes (train)
 * jobs/{id}/references/{t}.png      the edited reference of the ARR window whose reference is frame t (train)
 * jobs/{id}/references/{t}-source.png  the same at the source size: what render windows propagate (train)
 * jobs/{id}/windows/{i}/…            rendered frames of render window i, its σ and stats (render)
 * jobs/{id}/output.mp4               the edited video (mux)
 * jobs/{id}/uncertainty.mp4          per-pixel uncertainty as video (mux)
 * jobs/{id}/contact-sheet.png        original / edited / σ of a few frames, for a glance (mux)
 * jobs/{id}/report.json              what was done: windows, iterations, timings (mux)
 * ```
 *
 * A benchmark (`POST /v1/benchmarks`) keeps `benchmarks/{id}/clips/{clip}.json` (one clip's rows) and
 * `benchmarks/{id}/report.{md,json,csv}` ({@link benchmarkKeys}).
 *
 * Keys are never built from user strings: job ids are server-generated UUIDs (checked here), window and iteration
 * numbers are integers, and sub-names inside a folder are checked against a strict pattern.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isJobId(id: string): boolean {
  return UUID.test(id);
}

function assertJobId(id: string): void {
  if (!isJobId(id)) throw new Error(`Not a job id (server-generated UUID expected): ${JSON.stringify(id)}.`);
}

function assertIndex(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer, got ${n}.`);
}

function assertName(name: string): void {
  if (!NAME.test(name) || name.includes('..')) throw new Error(`Invalid artifact name ${JSON.stringify(name)}.`);
}

/** The folders of a job that hold many files; `file(folder, name)` builds a key inside one. */
export type JobFolder = 'frames' | 'landmarks' | 'features' | 'edit';

/** Keys of one job; build one with {@link jobKeys}. */
export interface JobKeys {
  readonly prefix: string;
  readonly input: string;
  readonly keyframe: (k: number) => string;
  readonly overlay: string;
  readonly folder: (folder: JobFolder) => string;
  readonly file: (folder: JobFolder, name: string) => string;
  readonly checkpoints: string;
  readonly checkpoint: (iteration: number) => string;
  /** A file of the checkpoint after `iteration` (`checkpoints/iter-{n}/{name}`). */
  readonly checkpointFile: (iteration: number, name: string) => string;
  readonly model: string;
  readonly training: string;
  /** The edited reference frame `t` (PNG, working size) of an ARR window. */
  readonly editedReference: (t: number) => string;
  /** {@link JobKeys.editedReference} at the source size. */
  readonly sourceReference: (t: number) => string;
  readonly window: (i: number) => string;
  readonly windowFile: (i: number, name: string) => string;
  readonly output: string;
  readonly uncertainty: string;
  readonly contactSheet: string;
  readonly report: string;
}

/** `checkpoints/iter-{n}` of a job. */
function jobCheckpoint(prefix: string, n: number): string {
  assertIndex(n, 'Iteration');
  return `${prefix}checkpoints/iter-${n}`;
}

/** The keys of job `id`; throws when `id` is not a server-generated UUID. */
export function jobKeys(id: string): JobKeys {
  assertJobId(id);
  const prefix = `jobs/${id}/`;
  return {
    prefix,
    input: `${prefix}input`,
    keyframe: (k) => (assertIndex(k, 'Keyframe number'), `${prefix}edit/keyframe-${k}.png`),
    overlay: `${prefix}edit/overlay.png`,
    folder: (folder) => `${prefix}${folder}/`,
    file: (folder, name) => (assertName(name), `${prefix}${folder}/${name}`),
    checkpoints: `${prefix}checkpoints/`,
    checkpoint: (n) => jobCheckpoint(prefix, n),
    checkpointFile: (n, name) => (assertName(name), `${jobCheckpoint(prefix, n)}/${name}`),
    model: `${prefix}model.onnx`,
    training: `${prefix}training.json`,
    editedReference: (t) => (assertIndex(t, 'Reference frame'), `${prefix}references/${t}.png`),
    sourceReference: (t) => (assertIndex(t, 'Reference frame'), `${prefix}references/${t}-source.png`),
    window: (i) => (assertIndex(i, 'Window index'), `${prefix}windows/${i}/`),
    windowFile: (i, name) => (assertIndex(i, 'Window index'), assertName(name), `${prefix}windows/${i}/${name}`),
    output: `${prefix}output.mp4`,
    uncertainty: `${prefix}uncertainty.mp4`,
    contactSheet: `${prefix}contact-sheet.png`,
    report: `${prefix}report.json`,
  };
}

/** Formats of a benchmark report. */
export const REPORT_FORMATS = ['md', 'json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The keys of benchmark `id`; clip names are checked like every name inside a folder. */
export function benchmarkKeys(id: string) {
  assertJobId(id);
  const prefix = `benchmarks/${id}/`;
  return {
    prefix,
    clip: (clip: string) => (assertName(clip), `${prefix}clips/${clip}.json`),
    report: (format: ReportFormat) => `${prefix}report.${format}`,
  } as const;
}
