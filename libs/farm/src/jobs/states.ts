/**
 * The job state machine of the farm, in one table:
 *
 * ```
 * queued → analyzing → training → rendering → muxing → done
 *    └──────────┴──────────┴──────────┴──────────┴──→ failed | cancelled
 * ```
 *
 * A working state may be entered again (a retried attempt, the next render window). `done`, `failed` and `cancelled`
 * are terminal. Every state change goes through `assertTransition` (and, in Redis, the repository's atomic check of
 * the same table), so an illegal change throws instead of corrupting a record.
 */
export const JOB_STATES = [
  'queued',
  'analyzing',
  'training',
  'rendering',
  'muxing',
  'done',
  'failed',
  'cancelled',
] as const;
export type JobState = (typeof JOB_STATES)[number];

/** The pipeline stages; each runs as BullMQ jobs of the same name. */
export const STAGES = ['analyze', 'train', 'render', 'mux'] as const;
export type StageName = (typeof STAGES)[number];

/** The state a job is in while a stage runs. */
export const STAGE_STATE: Readonly<Record<StageName, JobState>> = {
  analyze: 'analyzing',
  train: 'training',
  render: 'rendering',
  mux: 'muxing',
};

/** Allowed transitions: `TRANSITIONS[from]` lists every legal `to`. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['analyzing', 'failed', 'cancelled'],
  analyzing: ['analyzing', 'training', 'failed', 'cancelled'],
  training: ['training', 'rendering', 'failed', 'cancelled'],
  rendering: ['rendering', 'muxing', 'failed', 'cancelled'],
  muxing: ['muxing', 'done', 'failed', 'cancelled'],
  done: [],
  failed: [],
  cancelled: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobState,
    readonly to: JobState,
  ) {
    super(`A job cannot go from ${from} to ${to}.`);
    this.name = 'IllegalTransitionError';
  }
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws `IllegalTransitionError` unless the table allows `from → to`. */
export function assertTransition(from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** The states from which `to` may be entered (the repository checks the stored state against these atomically). */
export function sourcesOf(to: JobState): JobState[] {
  return JOB_STATES.filter((from) => canTransition(from, to));
}

export function isTerminal(state: JobState): boolean {
  return TRANSITIONS[state].length === 0;
}

export function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

/**
 * Overall progress (0–100) spanned by each stage: training dominates the run time, analysis and muxing are short.
 * A stage's own fraction maps linearly into its span.
 */
export const STAGE_SPAN: Readonly<Record<StageName, readonly [number, number]>> = {
  analyze: [0, 10],
  train: [10, 70],
  render: [70, 97],
  mux: [97, 100],
};

/** Overall percentage for `fraction` (0–1) of `stage`, rounded to 0.1. */
export function overallProgress(stage: StageName, fraction: number): number {
  const [a, b] = STAGE_SPAN[stage];
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  return Math.round((a + (b - a) * f) * 10) / 10;
}
