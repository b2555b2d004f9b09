import type { CorrespondencePreset } from '@streamedit/pipeline';
import type { JobState, StageName } from './states';

/**
 * The edit of a job, as stored: the farm's form of the pipeline's `EditSpec` where image files are artifact KEYS
 * (under `jobs/{id}/edit/`) instead of local paths. `at` is the keyframe index the edit applies to (default 0).
 * `upscaleKeyframe` (edits made of images: keyframes, an overlay, the prompt endpoint's answer) accepts an image at
 * the working size and carries it up to the source size, as the CLI's `--upscale-keyframe` does; absent = false.
 */
export type JobEdit =
  | {
      readonly kind: 'keyframes';
      readonly keyframes: ReadonlyArray<{ readonly at: number; readonly key: string }>;
      readonly upscaleKeyframe?: boolean;
    }
  | { readonly kind: 'overlay'; readonly key: string; readonly at?: number; readonly upscaleKeyframe?: boolean }
  | { readonly kind: 'look'; readonly name: string; readonly at?: number }
  | { readonly kind: 'prompt'; readonly text: string; readonly at?: number; readonly upscaleKeyframe?: boolean };

/** Quality/speed trade-off of a job: which trainer preset trains its correspondence ({@link TRAINER_PRESET}). */
export const PRESETS = ['fast', 'balanced', 'quality'] as const;
export type Preset = (typeof PRESETS)[number];

/**
 * THE mapping of the farm's presets to the trainer's (python/streamedit_trainer/presets.py):
 * - `fast` → `tiny`: 64² model resolution, 20 iterations, a narrow network: previews and tests, seconds on a CPU;
 * - `balanced` → `cpu`: 512², 2000 iterations (ARR checks every 500): sized for a few CPU cores;
 * - `quality` → `paper`: 512², 40000 iterations (checks every 10000), the paper's schedule: meant for a GPU trainer.
 */
export const TRAINER_PRESET: Readonly<Record<Preset, CorrespondencePreset>> = {
  fast: 'tiny',
  balanced: 'cpu',
  quality: 'paper',
};

/**
 * Queue priority. BullMQ takes jobs from its wait list before its prioritized set, so: `high` = wait list, LIFO (the
 * next job taken); `normal` = wait list, FIFO; `low` = prioritized set (taken only when the wait list is empty).
 */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** What ffprobe said about the upload (checked before the job was queued). */
export interface InputInfo {
  readonly bytes: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frameCount: number;
  readonly durationS: number;
  readonly codec: string;
}

/**
 * One render window: frames `[start, end)` propagated from the edited reference frame `reference`. It is an ARR
 * window, or a chunk of a long one (see {@link splitRenderWindows}); render windows are independent of each other.
 */
export interface RenderWindow {
  readonly index: number;
  readonly reference: number;
  readonly start: number;
  readonly end: number;
}

/**
 * Cuts windows longer than `maxFrames` into chunks of about equal length (same reference) and numbers the result
 * in frame order, so renderers can share a long window.
 */
export function splitRenderWindows(
  windows: ReadonlyArray<Omit<RenderWindow, 'index'>>,
  maxFrames: number,
): RenderWindow[] {
  const out: RenderWindow[] = [];
  for (const w of windows) {
    const chunks = Math.ceil((w.end - w.start) / maxFrames);
    for (let c = 0; c < chunks; c++) {
      const start = w.start + Math.round(((w.end - w.start) * c) / chunks);
      const end = w.start + Math.round(((w.end - w.start) * (c + 1)) / chunks);
      out.push({ index: out.length, reference: w.reference, start, end });
    }
  }
  return out;
}

/** Where the device a job trains on: chooses the train queue (`train-cpu` / `train-gpu`). */
export type TrainDevice = 'cpu' | 'gpu';

/** One job of the farm, as kept in Redis by `JobRepository` (a hash per job). */
export interface JobRecord {
  /** Server-generated UUID. */
  readonly id: string;
  readonly state: JobState;
  /** The stage running or last run; null while queued. */
  readonly stage: StageName | null;
  /** Overall progress, 0–100. */
  readonly progress: number;
  readonly edit: JobEdit;
  readonly preset: Preset;
  readonly priority: Priority;
  readonly device: TrainDevice;
  readonly input: InputInfo;
  /** Frames to edit: the first N of the video (≤ `input.frameCount`); null = every frame. */
  readonly frames: number | null;
  /** Training iterations done / planned (set by the train stage's progress). */
  readonly iterations: { readonly done: number; readonly total: number } | null;
  /** The ARR windows, known once training is done. */
  readonly windows: readonly RenderWindow[] | null;
  /** Render windows finished. */
  readonly windowsDone: number;
  /** Milliseconds spent per stage (summed over windows and attempts). */
  readonly timings: Readonly<Partial<Record<StageName, number>>>;
  /** Why the job failed (one sentence), or null. */
  readonly error: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  /** Monotonic sequence number: the listing order and pagination cursor. */
  readonly seq: number;
  /**
   * The API key that created the job (its public id, never the key), or null when auth was off. A key sees only
   * its own jobs; set once at creation, never patched.
   */
  readonly owner?: string | null;
}

/** What a caller chooses for a new job (the rest starts fresh, see {@link newJobRecord}). */
export type NewJobFields = Pick<
  JobRecord,
  'id' | 'edit' | 'preset' | 'priority' | 'device' | 'input' | 'frames' | 'owner'
>;

/**
 * A job that has not run yet: no stage, progress 0, no iterations, windows, timings, error or start/finish times.
 * `JobRepository.create` adds the state (`queued`), `seq` and both timestamps. Any other field of `fields` (a
 * retried job's, say) is carried over.
 */
export function newJobRecord(fields: NewJobFields): Omit<JobRecord, 'seq' | 'state' | 'createdAt' | 'updatedAt'> {
  return {
    ...fields,
    stage: null,
    progress: 0,
    iterations: null,
    windows: null,
    windowsDone: 0,
    timings: {},
    error: null,
    startedAt: null,
    finishedAt: null,
  };
}

/** The fields a repository update may change (state changes go through the state machine). */
export type JobPatch = Partial<
  Pick<
    JobRecord,
    'stage' | 'progress' | 'priority' | 'iterations' | 'windows' | 'windowsDone' | 'error' | 'startedAt' | 'finishedAt'
  >
>;

// `frames` is JSON so that null survives the round trip (a number field reads back 0).
const JSON_FIELDS = ['edit', 'input', 'frames', 'iterations', 'windows'] as const;
/** Timings are one hash field per stage (`timing:train`), added to atomically with HINCRBY. */
export const TIMING_FIELD_PREFIX = 'timing:';
const NUMBER_FIELDS = ['progress', 'windowsDone', 'seq'] as const;
const NULLABLE_STRING_FIELDS = ['stage', 'error', 'startedAt', 'finishedAt', 'owner'] as const;

/** A record (or patch) as Redis hash fields: strings only; JSON for nested values; '' for null. */
export function toHash(fields: Partial<JobRecord>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === 'timings') continue;
    if ((JSON_FIELDS as readonly string[]).includes(key)) out[key] = JSON.stringify(value);
    else out[key] = value === null ? '' : String(value);
  }
  return out;
}

/** The record from its Redis hash. */
export function fromHash(hash: Record<string, string>): JobRecord {
  const out: Record<string, unknown> = {};
  const timings: Record<string, number> = {};
  for (const [key, value] of Object.entries(hash)) {
    if (key.startsWith(TIMING_FIELD_PREFIX)) timings[key.slice(TIMING_FIELD_PREFIX.length)] = Number(value);
    else out[key] = value;
  }
  for (const key of JSON_FIELDS) out[key] = hash[key] ? JSON.parse(hash[key]) : null;
  for (const key of NUMBER_FIELDS) out[key] = Number(hash[key] ?? 0);
  for (const key of NULLABLE_STRING_FIELDS) out[key] = hash[key] ? hash[key] : null;
  out.timings = timings;
  return out as unknown as JobRecord;
}
