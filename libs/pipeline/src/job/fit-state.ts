import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReferenceWindow } from '../arr/reference-windows';

/**
 * The resumable state of a fit at one check, kept in the model folder beside the trainer's files. The trainer
 * resumes its weights from the newest checkpoint by itself (python/streamedit_trainer/checkpoint.py); the ARR
 * windows it was training on live only in `fitModel`, so each check also writes them here, and a fit that finds a
 * checkpoint resumes with the windows of that check instead of starting ARR over.
 *
 * Files of the check at iteration N (all in the model folder):
 * - `checkpoint-0000000N.pt` and `checkpoint-0000000N.pt.sha256` (the trainer's; the sidecar marks it complete),
 * - `arr-0000000N.json`: {@link FitState}.
 */
export interface FitState {
  readonly iteration: number;
  /** The ARR windows after this check's replacement: what training continues on. */
  readonly windows: readonly ReferenceWindow[];
  /** Windows at every check so far, for reports. */
  readonly history: ReadonlyArray<{ readonly iteration: number; readonly windows: number; readonly meanSigma: number }>;
}

const pad = (iteration: number): string => String(iteration).padStart(8, '0');
const CHECKPOINT = /^checkpoint-(\d{8})\.pt$/;

/** The trainer's checkpoint file name for an iteration (checkpoint.py `checkpoint_path`). */
export function checkpointName(iteration: number): string {
  return `checkpoint-${pad(iteration)}.pt`;
}

/** The file names of the check at `iteration`, in the order to copy them so the last one marks it complete. */
export function fitStateFiles(iteration: number): readonly string[] {
  const checkpoint = checkpointName(iteration);
  return [checkpoint, `arr-${pad(iteration)}.json`, `${checkpoint}.sha256`];
}

/** Writes the ARR state of a check (atomically: a crash leaves the previous state or this one). */
export async function writeFitState(modelDir: string, state: FitState): Promise<void> {
  const path = join(modelDir, fitStateFiles(state.iteration)[1]!);
  await writeFile(`${path}.tmp`, JSON.stringify(state));
  await rename(`${path}.tmp`, path);
}

/**
 * The state of the newest checkpoint in `modelDir` that is complete (has its sha256 sidecar, as the trainer
 * requires) and has its ARR state; undefined when there is none (a fresh fit).
 */
export async function latestFitState(modelDir: string): Promise<FitState | undefined> {
  const names = new Set(await readdir(modelDir).catch(() => [] as string[]));
  const iterations = [...names]
    .map((n) => CHECKPOINT.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
  for (const iteration of iterations) {
    const files = fitStateFiles(iteration);
    if (!files.every((f) => names.has(f))) continue;
    return JSON.parse(await readFile(join(modelDir, files[1]!), 'utf8')) as FitState;
  }
  return undefined;
}
