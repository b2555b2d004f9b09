import type { Logger } from 'pino';
import type { ProgressListener } from '@streamedit/pipeline';
import type { ArtifactStore } from '../storage/artifact-store';
import type { JobKeys } from '../storage/keys';
import type { JobRecord, RenderWindow } from './job-record';

/**
 * What a stage gets from the farm. The farm owns everything around the call: the state change before it, the work
 * dir (created empty, removed in `finally`), retries, cancellation, timings, and the record update after it.
 */
export interface StageContext {
  /** The job record as it was when the stage started (edit, preset, input info, windows once known). */
  readonly job: JobRecord;
  /** Keys of this job's artifacts (the one layout of `storage/keys.ts`). */
  readonly keys: JobKeys;
  /** Where artifacts are read and written: inputs of a stage come from here, outputs must go here. */
  readonly store: ArtifactStore;
  /** An empty local folder for this attempt; removed after the stage, whatever happens. */
  readonly workDir: string;
  /**
   * Reports progress of this stage (`done`/`total` of the stage's own unit: frames, iterations…). The farm maps it to
   * the job's overall percentage, throttles Redis writes and feeds the SSE stream. `stage` of the event is ignored.
   * For the train stage, `info.iteration` / `info.iterations` (numbers) are shown as the job's iterations.
   */
  readonly progress: ProgressListener;
  /**
   * Fires when the job is cancelled (or the worker shuts down and hands the job back). Pass it to every child
   * process and long loop; when it fires, stop and throw (`signal.throwIfAborted()`).
   */
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** A render window's context: the window, and the count of windows. Window i−1 has finished when window i runs. */
export interface RenderWindowContext extends StageContext {
  readonly window: RenderWindow;
  readonly windowCount: number;
}

/** The mux context: every window, all rendered. */
export interface MuxContext extends StageContext {
  readonly windows: readonly RenderWindow[];
}

/** What analysis found; kept for the report. */
export interface AnalyzeResult {
  /** Frames decoded at working resolution. */
  readonly frames: number;
  readonly width: number;
  readonly height: number;
}

/** What training produced: the ARR windows (≥ 1, covering every frame in order) drive the render jobs. */
export interface TrainResult {
  readonly iterations: number;
  readonly windows: ReadonlyArray<Omit<RenderWindow, 'index'>>;
}

/** What one window rendered. */
export interface RenderWindowResult {
  readonly frames: number;
}

/** The mux result: `report` is merged into `report.json` (the farm adds id, windows, timings). */
export interface MuxResult {
  readonly report: Readonly<Record<string, unknown>>;
}

/**
 * THE contract between the farm and the editing pipeline. The farm calls these from its BullMQ stage handlers;
 * an implementation does the work and keeps artifacts in `ctx.store` under `ctx.keys`:
 *
 * - `analyze`: reads `keys.input` (and the edit images), writes `frames/`, `landmarks/`, `features/`.
 * - `train`: reads those, trains the correspondence (heavy work in a child process: `runInChildProcess`, so the
 *   worker's event loop keeps renewing BullMQ locks), writes `checkpoints/iter-N` and `model.onnx`, returns the
 *   ARR windows.
 * - `renderWindow`: renders window `i` from its edited reference (stored by train) into `windows/{i}/…`. Windows
 *   are independent: every one is its own BullMQ job, added together under the mux job and run in parallel by any
 *   renderers free (in no particular order); mux runs once all of them are done.
 * - `mux`: assembles `output.mp4` (required: the farm checks it exists) and optionally `uncertainty.mp4`.
 *
 * Throw the pipeline's `InputError` for bad input (the job fails at once, with its message); any other error is
 * retried with backoff up to `FARM_JOB_ATTEMPTS`. Every method must be idempotent for a given job: a retried
 * attempt starts again in a fresh work dir and may find some of its own outputs already stored.
 */
export interface FarmStages {
  analyze(ctx: StageContext): Promise<AnalyzeResult>;
  train(ctx: StageContext): Promise<TrainResult>;
  renderWindow(ctx: RenderWindowContext): Promise<RenderWindowResult>;
  mux(ctx: MuxContext): Promise<MuxResult>;
}

/** The factory a stages module exports (`FARM_STAGES_MODULE`): called once per worker process. */
export type CreateFarmStages = (config: import('../config').FarmConfig) => FarmStages | Promise<FarmStages>;
