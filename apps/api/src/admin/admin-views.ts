import {
  isTerminal,
  type JobLogEvent,
  type JobRecord,
  type QueueName,
  type RenderWindow,
  type TrainingSample,
  type WorkerStatus,
} from '@streamedit/farm';

/** A job as the dashboard's table shows it. */
export interface AdminJobRow {
  readonly id: string;
  readonly state: JobRecord['state'];
  readonly stage: JobRecord['stage'];
  readonly progress: number;
  /** Seconds left at the job's progress rate so far; null when unknown (not started, finished). */
  readonly etaS: number | null;
  readonly priority: JobRecord['priority'];
  readonly preset: JobRecord['preset'];
  readonly device: JobRecord['device'];
  /** The edit in a few words (`look cartoon @0`). */
  readonly edit: string;
  /** Frames the job edits. */
  readonly frames: number;
  readonly iterations: JobRecord['iterations'];
  readonly windows: { readonly total: number; readonly done: number };
  readonly error: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
}

/** What is running on a worker right now (from BullMQ's active jobs: which worker took them). */
export interface WorkerTask {
  readonly jobId: string;
  readonly stage: string;
  readonly window?: number;
}

/** A worker as the dashboard shows it. */
export interface AdminWorkerRow extends Omit<WorkerStatus, 'queues'> {
  readonly queues: string[];
  /** `GPU` when it serves the GPU train queue, else `CPU`. */
  readonly pool: 'GPU' | 'CPU';
  readonly heartbeatAgeS: number;
  readonly current: WorkerTask[];
}

/** A queue's BullMQ counts and whether it is paused. */
export interface AdminQueueRow {
  readonly name: QueueName;
  readonly paused: boolean;
  readonly counts: Readonly<Record<string, number>>;
}

export interface AdminOverview {
  /** Server time (ISO): ages and ETAs are relative to it. */
  readonly now: string;
  readonly queues: AdminQueueRow[];
  readonly workers: AdminWorkerRow[];
  readonly jobs: AdminJobRow[];
}

/** An ARR reference window with why it exists (from the train stage's `training.json`, when stored). */
export interface ArrWindow {
  readonly start: number;
  readonly end: number;
  readonly reference: number;
  readonly cause?: string;
  readonly score?: number;
}

/** An image of a job's artifacts the dashboard can show. */
export interface Thumbnail {
  /** Key relative to the job's prefix (`references/0.png`). */
  readonly key: string;
  readonly kind: ThumbnailKind;
  readonly label: string;
}

export interface AdminJobDetail {
  readonly job: AdminJobRow & {
    readonly input: JobRecord['input'];
    readonly renderWindows: readonly RenderWindow[];
    readonly timings: JobRecord['timings'];
    readonly updatedAt: string;
  };
  /** Loss and mean σ over iterations (≤ 500 points). */
  readonly samples: TrainingSample[];
  /** Recent events, oldest first. */
  readonly log: JobLogEvent[];
  readonly arr: ArrWindow[] | null;
  /** The output video (once done). */
  readonly resultUrl: string | null;
}

/**
 * Seconds left, assuming the rest goes at the job's average rate since it started (overall progress already
 * weights the stages by their usual share of the time). Null before the first progress and once finished.
 */
export function estimateEtaS(
  record: Pick<JobRecord, 'state' | 'progress' | 'startedAt'>,
  nowMs: number,
): number | null {
  if (isTerminal(record.state) || !record.startedAt || record.progress <= 0 || record.progress >= 100) return null;
  const elapsedS = (nowMs - Date.parse(record.startedAt)) / 1000;
  if (!(elapsedS > 0)) return null;
  return Math.round((elapsedS * (100 - record.progress)) / record.progress);
}

/** A job's table row. */
export function jobRow(record: JobRecord, nowMs: number): AdminJobRow {
  return {
    id: record.id,
    state: record.state,
    stage: record.stage,
    progress: record.progress,
    etaS: estimateEtaS(record, nowMs),
    priority: record.priority,
    preset: record.preset,
    device: record.device,
    edit: describeEdit(record.edit),
    frames: record.frames ?? record.input.frameCount,
    iterations: record.iterations,
    windows: { total: record.windows?.length ?? 0, done: record.windowsDone },
    error: record.error,
    createdAt: record.createdAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  };
}

function describeEdit(edit: JobRecord['edit']): string {
  switch (edit.kind) {
    case 'look':
      return `look ${edit.name} @${edit.at ?? 0}`;
    case 'prompt':
      return `prompt "${edit.text.length > 40 ? `${edit.text.slice(0, 39)}…` : edit.text}" @${edit.at ?? 0}`;
    case 'overlay':
      return `overlay @${edit.at ?? 0}`;
    case 'keyframes':
      return `keyframes @${edit.keyframes.map((k) => k.at).join(',')}`;
  }
}

/** A worker's row: pool from its queues, heartbeat age, and what it runs now. */
export function workerRow(status: WorkerStatus, current: WorkerTask[], nowMs: number): AdminWorkerRow {
  return {
    ...status,
    queues: [...status.queues],
    pool: status.queues.includes('train-gpu') ? 'GPU' : 'CPU',
    heartbeatAgeS: Math.max(0, Math.round((nowMs - Date.parse(status.lastSeen)) / 1000)),
    current,
  };
}

export const THUMBNAIL_KINDS = [
  'keyframe',
  'edit',
  'reference',
  'original',
  'propagated',
  'sigma',
  'contact-sheet',
] as const;
export type ThumbnailKind = (typeof THUMBNAIL_KINDS)[number];

/**
 * The job images the dashboard may show, by key pattern (relative to `jobs/{id}/`; see storage/keys.ts and the
 * render stage's `WINDOW_FILES`): edited keyframes and edit images, decoded frame PNGs, each window's edited
 * reference, the contact-sheet columns (original / propagated / σ heat map) and the contact sheet. Only these are
 * served by the admin file endpoint.
 */
const THUMBNAIL_RULES: ReadonlyArray<readonly [RegExp, ThumbnailKind, (m: RegExpExecArray) => string]> = [
  [/^frames\/(\d{1,9})\.png$/, 'keyframe', (m) => `frame ${Number(m[1])}`],
  [/^edit\/edited-(\d{1,9})\.png$/, 'edit', (m) => `edited keyframe @${m[1]}`],
  [/^edit\/keyframe-(\d{1,9})\.png$/, 'edit', (m) => `uploaded keyframe #${m[1]}`],
  [/^edit\/overlay\.png$/, 'edit', () => 'overlay'],
  [/^references\/(\d{1,9})\.png$/, 'reference', (m) => `frame ${m[1]} reference (edited)`],
  [/^windows\/\d{1,9}\/sheet-(\d{1,9})-original\.png$/, 'original', (m) => `frame ${m[1]}`],
  [/^windows\/\d{1,9}\/sheet-(\d{1,9})-edited\.png$/, 'propagated', (m) => `frame ${m[1]} propagated`],
  [/^windows\/\d{1,9}\/sheet-(\d{1,9})-sigma\.png$/, 'sigma', (m) => `frame ${m[1]} σ`],
  [/^contact-sheet\.png$/, 'contact-sheet', () => 'contact sheet'],
];

/** The thumbnail a relative key is, or undefined when the dashboard does not show (or serve) it. */
export function classifyThumbnail(key: string): Thumbnail | undefined {
  for (const [pattern, kind, label] of THUMBNAIL_RULES) {
    const m = pattern.exec(key);
    if (m) return { key, kind, label: label(m) };
  }
  return undefined;
}

/** The thumbnails among `keys`, grouped in dashboard order, at most `perKind` of each kind (spread over the job). */
export function pickThumbnails(keys: readonly string[], perKind = 8): Thumbnail[] {
  const found = keys.map(classifyThumbnail).filter((t): t is Thumbnail => t !== undefined);
  return THUMBNAIL_KINDS.flatMap((kind) => spread(found.filter((t) => t.kind === kind).sort(byNumbers), perKind));
}

/** Sorts `windows/10/…` after `windows/9/…`. */
function byNumbers(a: Thumbnail, b: Thumbnail): number {
  return a.key.localeCompare(b.key, 'en', { numeric: true });
}

function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}

/** The ARR windows of a `training.json` body, or null when it has none that are well-formed. */
export function arrWindows(training: unknown): ArrWindow[] | null {
  const windows = (training as { windows?: unknown } | null)?.windows;
  if (!Array.isArray(windows)) return null;
  const out: ArrWindow[] = [];
  for (const w of windows as Array<Record<string, unknown>>) {
    if (typeof w?.start !== 'number' || typeof w.end !== 'number') continue;
    out.push({
      start: w.start,
      end: w.end,
      reference: typeof w.reference === 'number' ? w.reference : w.start,
      ...(typeof w.cause === 'string' ? { cause: w.cause } : {}),
      ...(typeof w.score === 'number' ? { score: w.score } : {}),
    });
  }
  return out.length > 0 ? out : null;
}
