import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReferenceWindow } from '../arr/reference-windows';
import type { CorrespondencePreset, CorrespondenceShape } from '../correspondence/io-spec';
import { InputError } from '../errors';
import { FeatureCache } from '../features/feature-cache';
import type { RgbFrame } from '../image/frame';
import { readPng, rgbaToRgb } from '../image/png';
import { LandmarkTrack } from '../landmarks/landmark-track';
import { FrameStore } from '../media/frame-store';
import type { FitResult } from '../job/fit';
import { workLayout } from '../job/work-dir';
import { cachedLiveFrame, type LiveFrame } from './live-frame';

/** A finished edit's work dir as a live session sees it (`streamedit edit --work-dir DIR`, or a farm job's files). */
export interface FittedEdit {
  readonly workDir: string;
  /** The exported correspondence model (`model/model.onnx`). */
  readonly onnxPath: string;
  /** The ARR windows of the fit (`model/fit.json`). */
  readonly windows: readonly ReferenceWindow[];
  /** The trainer preset of the fit (the model's size). */
  readonly preset: CorrespondencePreset;
  /** Working size of the analysed frames (what the correspondence runs at). */
  readonly width: number;
  readonly height: number;
  /**
   * Size of the source the edit was made from, when the work dir holds every window's source-size edit
   * (`edits/ref-<window>-source.png`): live frames of this size are delivered at it. Absent in an older work dir.
   */
  readonly source?: { readonly width: number; readonly height: number };
  readonly fps: { readonly num: number; readonly den: number };
}

/** A window's edited reference at the working size and, when the work dir has it, at the source size. */
export interface WindowEdit {
  readonly edited: RgbFrame;
  readonly editedFull?: RgbFrame;
}

/** An edited reference ready for a live session: its frame's model inputs and its edit. */
export interface StartReference extends WindowEdit {
  readonly frame: LiveFrame;
}

/**
 * Reads a finished edit's work dir: `model/fit.json` + `model/model.onnx`, the analysed frames, and
 * `edits/ref-<window>.png` for each window. Anything missing is an `InputError` that says what to run.
 */
export async function readFittedEdit(workDir: string): Promise<FittedEdit> {
  const dirs = workLayout(workDir);
  const fitPath = join(dirs.model, 'fit.json');
  if (!existsSync(fitPath)) {
    throw new InputError(
      `${workDir} holds no fitted model (no model/fit.json): run \`streamedit edit … --work-dir ${workDir}\` first.`,
    );
  }
  const fit = JSON.parse(await readFile(fitPath, 'utf8')) as FitResult;
  // The work dir may have moved since the fit (a copy, a farm download): prefer the model beside fit.json.
  const onnxPath = [join(dirs.model, 'model.onnx'), fit.onnxPath].find((p) => existsSync(p));
  if (!onnxPath) throw new InputError(`${workDir} has no model/model.onnx: run the edit again with --work-dir.`);
  for (const i of fit.windows.keys()) {
    if (!existsSync(editedReferencePath(workDir, i))) {
      throw new InputError(
        `${workDir} has no edits/ref-${i}.png (window ${i}'s edited reference): run the edit again with --work-dir.`,
      );
    }
  }
  const meta = JSON.parse(
    await readFile(join(dirs.frames, 'frames.json'), 'utf8').catch(() => {
      throw new InputError(
        `${workDir} has no analysed frames (frames/frames.json): run the edit again with --work-dir.`,
      );
    }),
  ) as { width: number; height: number; fps: { num: number; den: number } };
  const hasSource = [...fit.windows.keys()].every((i) => existsSync(editedReferencePath(workDir, i, 'source')));
  return {
    workDir,
    onnxPath,
    windows: fit.windows,
    preset: fit.preset,
    width: meta.width,
    height: meta.height,
    source: hasSource ? await pngSize(editedReferencePath(workDir, 0, 'source')) : undefined,
    fps: meta.fps,
  };
}

/** `edits/ref-<window>.png` of a work dir, or `edits/ref-<window>-source.png` (the source-size edit). */
export function editedReferencePath(workDir: string, window: number, size: 'working' | 'source' = 'working'): string {
  return join(workLayout(workDir).edits, size === 'source' ? `ref-${window}-source.png` : `ref-${window}.png`);
}

async function pngSize(path: string): Promise<{ width: number; height: number }> {
  const { width, height } = await readPng(path);
  return { width, height };
}

/** Window `window`'s edited reference with its frame's model inputs from the analysis (landmarks, features). */
export async function loadStartReference(
  fitted: FittedEdit,
  window: number,
  shape: CorrespondenceShape,
): Promise<StartReference> {
  const w = fitted.windows[window];
  if (!w) throw new InputError(`Window ${window} does not exist: the fit has windows 0–${fitted.windows.length - 1}.`);
  const work = await openAnalysis(fitted.workDir);
  try {
    const frame = await cachedLiveFrame(w.reference, work, shape);
    return { frame, ...(await readWindowEdit(fitted, window)) };
  } finally {
    await work.close();
  }
}

/** Window `window`'s edited reference image, checked against the working size. */
export async function readEditedReference(fitted: FittedEdit, window: number): Promise<RgbFrame> {
  return readSizedPng(editedReferencePath(fitted.workDir, window), fitted, 'the analysed frames');
}

/** Window `window`'s edit at the working size and, when the work dir has them, at the source size. */
export async function readWindowEdit(fitted: FittedEdit, window: number): Promise<WindowEdit> {
  const edited = await readEditedReference(fitted, window);
  if (!fitted.source) return { edited };
  const path = editedReferencePath(fitted.workDir, window, 'source');
  return { edited, editedFull: await readSizedPng(path, fitted.source, 'the source-size edit of window 0') };
}

async function readSizedPng(path: string, size: { width: number; height: number }, what: string): Promise<RgbFrame> {
  const image = rgbaToRgb(await readPng(path));
  if (image.width !== size.width || image.height !== size.height) {
    throw new InputError(
      `${path} is ${image.width}×${image.height}, ${what} ${size.width}×${size.height}: run the edit again.`,
    );
  }
  return image;
}

/** The analysis of a work dir opened for random access (frames, landmark track, features); `close` releases it. */
export async function openAnalysis(
  workDir: string,
): Promise<{ frames: FrameStore; track: LandmarkTrack; features: FeatureCache; close(): Promise<void> }> {
  const dirs = workLayout(workDir);
  const [frames, track, features] = await Promise.all([
    FrameStore.open(dirs.frames),
    LandmarkTrack.open(dirs.landmarks),
    FeatureCache.open(dirs.features),
  ]);
  return {
    frames,
    track,
    features,
    close: async () => {
      frames.close();
      await features.close();
    },
  };
}
