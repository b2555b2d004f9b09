import { readFile, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors';
import { createBackbone } from '../features/create-backbone';
import { writeFeatureCache } from '../features/feature-cache';
import { ChromiumLandmarkDetector } from '../landmarks/chromium-detector';
import type { LandmarkDetector } from '../landmarks/face-observation';
import { analyzeLandmarks, type LandmarkTrack } from '../landmarks/landmark-track';
import { logger } from '../log';
import { FrameStore, writeFrameStore } from '../media/frame-store';
import { probeVideo, type VideoInfo } from '../media/video-info';
import { ModelStore } from '../models/model-store';
import { noProgress, type ProgressListener } from '../progress';
import { settings } from '../settings';
import { workLayout } from './work-dir';

/** What the analysis of one video produced (also written as `analysis.json` in the working directory). */
export interface Analysis {
  readonly video: VideoInfo;
  /** Frames analysed (the first `count` of the video) at working size. */
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly facesFound: number;
  readonly backbone: string;
  readonly timingsMs: Readonly<Record<'decode' | 'landmarks' | 'features', number>>;
}

export interface AnalyzeOptions {
  /** Analyse only the first N frames. Default: all. */
  readonly maxFrames?: number;
  /** Longer side of the working size. Default `settings().maxSide`. */
  readonly maxSide?: number;
  /** A detector to reuse (the caller closes it); default: a new Chromium detector closed at the end. */
  readonly detector?: LandmarkDetector;
  readonly store?: ModelStore;
}

/**
 * The `analyze` stage: probe, decode to a frame store, landmarks + person masks for every frame, backbone features
 * for every frame. A video where no frame shows a face is bad input (nothing to propagate along).
 */
export async function analyzeVideo(
  videoPath: string,
  workDir: string,
  options: AnalyzeOptions = {},
  onProgress: ProgressListener = noProgress,
): Promise<Analysis> {
  const dirs = workLayout(workDir);
  const video = await probeVideo(videoPath);
  await removeStaleFits(workDir);
  const store = options.store ?? new ModelStore();
  const t0 = Date.now();
  await writeFrameStore(
    videoPath,
    dirs.frames,
    { maxSide: options.maxSide ?? settings().maxSide, count: options.maxFrames },
    onProgress,
  );
  const frames = await FrameStore.open(dirs.frames);
  const t1 = Date.now();
  let track: LandmarkTrack;
  const detector = options.detector ?? new ChromiumLandmarkDetector({ modelStore: store });
  try {
    track = await analyzeLandmarks(frames, detector, dirs.landmarks, (e) => onProgress({ ...e, stage: 'landmarks' }), {
      total: frames.count,
    });
  } finally {
    if (!options.detector) await detector.close();
  }
  if (track.facesFound === 0)
    throw new InputError(
      `No face was found in ${videoPath}: StreamEdit edits portrait videos; give a clip that shows a face.`,
    );
  const t2 = Date.now();
  const backbone = await createBackbone(store);
  try {
    await writeFeatureCache(
      dirs.features,
      frames,
      backbone,
      (e) => onProgress({ ...e, stage: 'features' }),
      frames.count,
    );
  } finally {
    await backbone.release();
  }
  const analysis: Analysis = {
    video,
    count: frames.count,
    width: frames.width,
    height: frames.height,
    facesFound: track.facesFound,
    backbone: backbone.name,
    timingsMs: { decode: t1 - t0, landmarks: t2 - t1, features: Date.now() - t2 },
  };
  frames.close();
  await writeFile(dirs.analysis, JSON.stringify(analysis, null, 2));
  logger('analyze').info(
    { frames: analysis.count, facesFound: analysis.facesFound, timingsMs: analysis.timingsMs },
    'analysis done',
  );
  return analysis;
}

/** A finished analysis of the same video and frame count in `workDir`, if there is one (benchmarks reuse it). */
export async function loadAnalysis(
  workDir: string,
  videoPath: string,
  maxFrames?: number,
): Promise<Analysis | undefined> {
  try {
    const a = JSON.parse(await readFile(workLayout(workDir).analysis, 'utf8')) as Analysis;
    const wanted = Math.min(a.video.frameCount, maxFrames ?? Number.POSITIVE_INFINITY);
    // The same file by any path (a symlinked data folder must not look like another video and wipe the fits).
    const same = a.video.path === videoPath || (await realpath(a.video.path)) === (await realpath(videoPath));
    return same && a.count === wanted ? a : undefined;
  } catch {
    return undefined;
  }
}

/** A new analysis invalidates every fit kept in the work dir (`model*` folders): they index the old frames. */
async function removeStaleFits(workDir: string): Promise<void> {
  const entries = await readdir(workDir).catch(() => [] as string[]);
  await Promise.all(
    entries.filter((e) => e.startsWith('model')).map((e) => rm(join(workDir, e), { recursive: true, force: true })),
  );
}
