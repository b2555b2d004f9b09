import type { Preset } from '../jobs/job-record';

/** A benchmark runs its clips in parallel (`running` once any started) and is `done` when its report is stored. */
export const BENCHMARK_STATES = ['queued', 'running', 'done', 'failed'] as const;
export type BenchmarkState = (typeof BENCHMARK_STATES)[number];

/** One clip of a benchmark: its reconstruction job's state and, once done, its headline figures. */
export interface BenchmarkClip {
  /** File name inside `FARM_BENCHMARK_DIR`. */
  readonly clip: string;
  readonly state: 'queued' | 'running' | 'done' | 'failed';
  /** Mean PSNR / SSIM % of the full method (ARR), once done. */
  readonly psnr?: number;
  readonly ssimPercent?: number;
  readonly error?: string;
}

/**
 * A batch reconstruction benchmark on the farm (`POST /v1/benchmarks`): the protocol of ../shared/data/README.md on
 * each clip as one job, then one report (Markdown, JSON, CSV) — the same as `streamedit bench hdtf`.
 */
export interface BenchmarkRecord {
  /** Server-generated UUID. */
  readonly id: string;
  readonly state: BenchmarkState;
  /** First N frames of each clip. */
  readonly frames: number;
  readonly preset: Preset;
  /** With the Table 3 ablations (without PPCE, without ARR). */
  readonly ablations: boolean;
  readonly clips: readonly BenchmarkClip[];
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly error: string | null;
  /** The API key that created it (public id), or null when auth is off. */
  readonly owner: string | null;
}

/** What a benchmark's BullMQ jobs carry: ids only. */
export interface BenchmarkJobData {
  readonly benchmarkId: string;
  /** The clip (`clip` jobs only). */
  readonly clip?: string;
}
