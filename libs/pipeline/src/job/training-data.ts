import { open, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { frameReferences, type ReferenceWindow } from '../arr/reference-windows';
import { toFloat16Array } from '../image/float16';
import { LANDMARK_COUNT } from '../landmarks/face-observation';
import { LandmarkTrack } from '../landmarks/landmark-track';
import { LandmarkWarp } from '../landmarks/landmark-warp';
import { workLayout } from './work-dir';

/** The model's resolution (multiples of 8: `modelSize` of correspondence/io-spec.ts). */
export interface ModelSize {
  readonly width: number;
  readonly height: number;
}

const LINKED: ReadonlyArray<[keyof ReturnType<typeof workLayout>, string]> = [
  ['frames', 'frames.u8'],
  ['frames', 'frames.json'],
  ['features', 'features.f32'],
  ['features', 'features.json'],
  ['landmarks', 'masks.u8'],
];

/**
 * Writes the trainer's data directory for the current ARR windows: links to the analysed arrays,
 * `references.json`, and `init_flow.f16` — each frame's landmark warp (F_Lwarp) to its window's reference at model
 * resolution (zeros where either frame has no face). Rewritten whenever the windows change. `trainFrames` limits
 * the frames the trainer samples (the streaming split).
 */
export async function writeTrainingData(workDir: string, windows: readonly ReferenceWindow[], size: ModelSize, trainFrames?: number): Promise<void> {
  const dirs = workLayout(workDir);
  await mkdir(dirs.train, { recursive: true });
  for (const [dir, file] of LINKED) {
    const to = join(dirs.train, file);
    await rm(to, { force: true });
    await symlink(join(dirs[dir] as string, file), to);
  }
  const track = await LandmarkTrack.open(dirs.landmarks);
  const refs = frameReferences(windows, track.count);
  const references = windows.map((w) => w.reference);
  // frameReference holds, per frame, the index of its window in `references` (the trainer's io_spec).
  const frameReference = refs.map((r) => references.indexOf(r));
  await writeFile(join(dirs.train, 'references.json'), JSON.stringify({ references, frameReference, windows, ...(trainFrames !== undefined ? { trainFrames } : {}) }));
  await writeInitFlows(join(dirs.train, 'init_flow.f16'), track, refs, size);
  await writeFile(join(dirs.train, 'init_flow.json'), JSON.stringify({ width: size.width, height: size.height, count: track.count }));
}

/** Landmarks of frame `i` in model pixels (pixel centres kept), or undefined without a face. */
export function landmarksAtSize(track: LandmarkTrack, i: number, size: ModelSize): Float32Array | undefined {
  const lm = track.landmarksAt(i);
  return lm ? scaleLandmarks(lm, track, size) : undefined;
}

/** Landmarks in pixels of a `from`-sized frame → pixels of `size` (pixel centres kept); live frames use it too. */
export function scaleLandmarks(lm: Float32Array, from: ModelSize, size: ModelSize): Float32Array {
  const sx = size.width / from.width;
  const sy = size.height / from.height;
  const out = new Float32Array(2 * LANDMARK_COUNT);
  for (let k = 0; k < LANDMARK_COUNT; k++) {
    out[2 * k] = (lm[2 * k]! + 0.5) * sx - 0.5;
    out[2 * k + 1] = (lm[2 * k + 1]! + 0.5) * sy - 0.5;
  }
  return out;
}

/** The landmark-warp init flow of frame `t` to reference `r` at model size (zeros without faces). */
export function initFlowFor(track: LandmarkTrack, t: number, r: number, size: ModelSize, warps = new Map<number, LandmarkWarp>()): Float32Array {
  const cur = landmarksAtSize(track, t, size);
  const refLm = landmarksAtSize(track, r, size);
  if (!cur || !refLm || t === r) return new Float32Array(2 * size.width * size.height);
  let warp = warps.get(r);
  if (!warp) {
    warp = LandmarkWarp.fromReference(refLm, size.width, size.height);
    warps.set(r, warp);
  }
  return warp.field(cur).flow.data;
}

async function writeInitFlows(path: string, track: LandmarkTrack, refs: readonly number[], size: ModelSize): Promise<void> {
  const file = await open(path, 'w');
  const warps = new Map<number, LandmarkWarp>();
  try {
    for (let t = 0; t < track.count; t++) {
      const half = toFloat16Array(initFlowFor(track, t, refs[t]!, size, warps));
      await file.write(new Uint8Array(half.buffer));
    }
  } finally {
    await file.close();
  }
}
