import { existsSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InputError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { type ProgressListener, noProgress } from '../progress';
import { type FaceObservation, LANDMARK_COUNT, type LandmarkDetector } from './face-observation';

/**
 * The landmark track of one video, stored as a directory — a contract with the Python trainer, which maps the files
 * with numpy (`np.memmap(path, dtype, mode='r', shape=...)`, all little-endian):
 * - `landmarks.f32` float32 [N, 478, 2]: pixel (x, y), pixel centres at integers; NaN in frames without a face;
 * - `presence.u8`  uint8 [N]: 1 where a face was found;
 * - `masks.u8`     uint8 [N, H, W]: person confidence 0..255;
 * - `landmarks.json` (written last, so its presence means the directory is complete): `{ version, count, width,
 *   height, points, facesFound, coordinates, arrays, blendshapes }`, `blendshapes` being one object or null per frame.
 */
export const LANDMARK_FILES = {
  landmarks: 'landmarks.f32',
  presence: 'presence.u8',
  masks: 'masks.u8',
  meta: 'landmarks.json',
} as const;

/** `landmarks.json`. */
export interface LandmarkTrackMeta {
  readonly version: 1;
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly points: number;
  readonly facesFound: number;
  /** How landmark coordinates are defined (for readers in other languages). */
  readonly coordinates: string;
  /** numpy dtype and shape of each array file. */
  readonly arrays: Readonly<
    Record<'landmarks' | 'presence' | 'masks', { file: string; dtype: string; shape: number[] }>
  >;
  readonly blendshapes: ReadonlyArray<Readonly<Record<string, number>> | null>;
}

export interface AnalyzeLandmarksOptions {
  /** Number of frames, when known, for progress. Default: unknown. */
  readonly total?: number;
  /**
   * Frames handed to the detector before the oldest answer is awaited, so sending one frame overlaps the work on
   * another. Default 2.
   */
  readonly inFlight?: number;
}

/**
 * Runs `detector` on every frame of a video and stores the track in `dir` (replaced if present). Frames without a
 * face are marked in `presence` (and NaN landmarks), not fatal. The directory appears complete or not at all: it
 * is written beside `dir` under a temporary name and renamed at the end.
 */
export async function analyzeLandmarks(
  frames: AsyncIterable<RgbFrame>,
  detector: LandmarkDetector,
  dir: string,
  onProgress: ProgressListener = noProgress,
  options: AnalyzeLandmarksOptions = {},
): Promise<LandmarkTrack> {
  const partial = `${dir}.partial-${process.pid}-${Date.now()}`;
  await mkdir(partial, { recursive: true });
  const writer = await TrackWriter.create(partial);
  try {
    const depth = Math.max(1, options.inFlight ?? 2);
    const queue: Promise<FaceObservation>[] = [];
    let size: { width: number; height: number } | undefined;
    const take = async () => {
      await writer.append(await queue.shift()!, size!);
      onProgress({
        stage: 'landmarks',
        done: writer.count,
        ...(options.total !== undefined && { total: options.total }),
        info: { faces: writer.facesFound },
      });
    };
    for await (const frame of frames) {
      size ??= { width: frame.width, height: frame.height };
      if (frame.width !== size.width || frame.height !== size.height) {
        throw new RangeError(
          `frame ${writer.count + queue.length} is ${frame.width}×${frame.height}, the video's first frame ${size.width}×${size.height}`,
        );
      }
      const pending = detector.detect(frame);
      pending.catch(() => undefined); // awaited in order below; this only keeps an early rejection from being "unhandled"
      queue.push(pending);
      if (queue.length >= depth) await take();
    }
    while (queue.length > 0) await take();
    if (!size) {
      throw new InputError(
        'The video has no frames, so there are no landmarks to find: give a video with at least one frame.',
      );
    }
    await writer.finish(size);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dirname(dir), { recursive: true });
    await rename(partial, dir);
  } finally {
    await writer.close();
    await rm(partial, { recursive: true, force: true });
  }
  return LandmarkTrack.open(dir);
}

/** Appends observations to the three array files; `finish` writes `landmarks.json`. */
class TrackWriter {
  count = 0;
  facesFound = 0;
  private closed = false;
  private readonly blendshapes: (Readonly<Record<string, number>> | null)[] = [];
  private readonly noFace = new Float32Array(2 * LANDMARK_COUNT).fill(NaN);

  private constructor(
    private readonly dir: string,
    private readonly landmarks: FileHandle,
    private readonly presence: FileHandle,
    private readonly masks: FileHandle,
  ) {}

  static async create(dir: string): Promise<TrackWriter> {
    const [l, p, m] = await Promise.all(
      [LANDMARK_FILES.landmarks, LANDMARK_FILES.presence, LANDMARK_FILES.masks].map((f) => open(join(dir, f), 'w')),
    );
    return new TrackWriter(dir, l!, p!, m!);
  }

  async append(o: FaceObservation, size: { width: number; height: number }): Promise<void> {
    if (o.mask.length !== size.width * size.height)
      throw new RangeError(`mask of frame ${this.count} has ${o.mask.length} bytes, not ${size.width}×${size.height}`);
    const points = o.face && o.landmarks ? o.landmarks : this.noFace;
    await this.landmarks.write(new Uint8Array(points.buffer, points.byteOffset, points.byteLength));
    await this.presence.write(Uint8Array.of(o.face ? 1 : 0));
    await this.masks.write(o.mask);
    this.blendshapes.push(o.face ? (o.blendshapes ?? null) : null);
    this.count++;
    if (o.face) this.facesFound++;
  }

  async finish(size: { width: number; height: number }): Promise<void> {
    await this.close();
    const n = this.count;
    const meta: LandmarkTrackMeta = {
      version: 1,
      count: n,
      width: size.width,
      height: size.height,
      points: LANDMARK_COUNT,
      facesFound: this.facesFound,
      coordinates:
        'pixels of the frame, pixel centres at integer coordinates (x = nx*width - 0.5 for MediaPipe normalised nx)',
      arrays: {
        landmarks: { file: LANDMARK_FILES.landmarks, dtype: '<f4', shape: [n, LANDMARK_COUNT, 2] },
        presence: { file: LANDMARK_FILES.presence, dtype: '|u1', shape: [n] },
        masks: { file: LANDMARK_FILES.masks, dtype: '|u1', shape: [n, size.height, size.width] },
      },
      blendshapes: this.blendshapes,
    };
    await writeFile(join(this.dir, LANDMARK_FILES.meta), JSON.stringify(meta));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.landmarks.close(), this.presence.close(), this.masks.close()]);
  }
}

/** A stored landmark track, read back: landmarks and presence in memory, masks read per frame from disk. */
export class LandmarkTrack {
  private constructor(
    readonly dir: string,
    readonly meta: LandmarkTrackMeta,
    /** [N, 478, 2] flattened; NaN where no face. */
    readonly landmarks: Float32Array,
    /** [N], 1 where a face was found. */
    readonly presence: Uint8Array,
  ) {}

  /** Opens a complete track directory; a missing or truncated one is an `InputError`. */
  static async open(dir: string): Promise<LandmarkTrack> {
    const metaPath = join(dir, LANDMARK_FILES.meta);
    if (!existsSync(metaPath))
      throw new InputError(
        `${dir} is not a landmark track (no ${LANDMARK_FILES.meta}): run the landmark analysis again.`,
      );
    const meta = JSON.parse(await readFile(metaPath, 'utf8')) as LandmarkTrackMeta;
    const raw = await readFile(join(dir, LANDMARK_FILES.landmarks));
    const presence = new Uint8Array(await readFile(join(dir, LANDMARK_FILES.presence)));
    if (raw.byteLength !== meta.count * LANDMARK_COUNT * 8 || presence.length !== meta.count) {
      throw new InputError(`The landmark track in ${dir} is truncated: run the landmark analysis again.`);
    }
    // Copy into an aligned buffer (a Buffer from readFile may sit at any offset of a shared pool).
    const landmarks = new Float32Array(new Uint8Array(raw).buffer);
    return new LandmarkTrack(dir, meta, landmarks, presence);
  }

  get count(): number {
    return this.meta.count;
  }
  get width(): number {
    return this.meta.width;
  }
  get height(): number {
    return this.meta.height;
  }
  get facesFound(): number {
    return this.meta.facesFound;
  }

  /** The 478 × (x, y) points of frame `i`, or undefined when no face was found there. */
  landmarksAt(i: number): Float32Array | undefined {
    this.check(i);
    if (!this.presence[i]) return undefined;
    return this.landmarks.subarray(i * 2 * LANDMARK_COUNT, (i + 1) * 2 * LANDMARK_COUNT);
  }

  blendshapesAt(i: number): Readonly<Record<string, number>> | undefined {
    this.check(i);
    return this.meta.blendshapes[i] ?? undefined;
  }

  /** Person confidence of frame `i` (H×W, 0..255), read from `masks.u8`. */
  async maskAt(i: number): Promise<Uint8Array> {
    this.check(i);
    const n = this.width * this.height;
    const out = new Uint8Array(n);
    const file = await open(join(this.dir, LANDMARK_FILES.masks), 'r');
    try {
      const { bytesRead } = await file.read(out, 0, n, i * n);
      if (bytesRead !== n)
        throw new InputError(
          `The masks of the landmark track in ${this.dir} are truncated: run the landmark analysis again.`,
        );
    } finally {
      await file.close();
    }
    return out;
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new RangeError(`frame ${i} is outside the track's ${this.count} frames`);
  }
}
