import { existsSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { StreamEditError } from '../errors';
import type { RgbFrame } from '../image/frame';
import { type ProgressListener, noProgress } from '../progress';
import { type Backbone, type FeatureMap, createFeatureMap } from './backbone';

/** File names of a feature cache directory (the contract with the Python trainer). */
export const FEATURES_DATA = 'features.f32';
export const FEATURES_META = 'features.json';

/**
 * `features.json`. Together with `features.f32` — float32 little-endian, `[count, channels, height, width]`
 * C-contiguous — this is the contract with the Python trainer, which maps it with
 * `np.memmap(dir/'features.f32', dtype='<f4', mode='r', shape=(count, channels, height, width))`.
 */
export interface FeatureCacheInfo {
  readonly count: number;
  readonly channels: number;
  /** Feature grid width w (not the frame's). */
  readonly width: number;
  /** Feature grid height h. */
  readonly height: number;
  /** `Backbone.name` that produced the features. */
  readonly backbone: string;
  /** sha256 of the backbone's model file: a cache from other weights must not be reused. */
  readonly modelSha256: string;
}

/** A cache that is absent, incomplete or inconsistent (recompute it). */
export class FeatureCacheError extends StreamEditError {}

/**
 * Extracts the backbone features of every frame into `dir` (created if needed), streaming: one frame's features in
 * memory at a time. The data goes to a temp file renamed into place, and `features.json` is written last, so a
 * directory with a `features.json` always holds a complete cache (an interrupted run leaves none).
 * `total` (the frame count, when known) only feeds the progress events (stage `features`).
 */
export async function writeFeatureCache(
  dir: string,
  frames: AsyncIterable<RgbFrame> | Iterable<RgbFrame>,
  backbone: Backbone,
  onProgress: ProgressListener = noProgress,
  total?: number,
): Promise<FeatureCacheInfo> {
  if (endianness() !== 'LE')
    throw new FeatureCacheError('feature caches are little-endian float32; this host is big-endian');
  await mkdir(dir, { recursive: true });
  await rm(join(dir, FEATURES_META), { force: true });
  const part = join(dir, `${FEATURES_DATA}.${process.pid}.part`);
  let file: FileHandle | undefined = await open(part, 'w');
  try {
    let shape: { channels: number; width: number; height: number } | undefined;
    let count = 0;
    for await (const frame of frames) {
      const map = await backbone.extract(frame);
      shape ??= { channels: map.channels, width: map.width, height: map.height };
      if (map.channels !== shape.channels || map.width !== shape.width || map.height !== shape.height) {
        throw new FeatureCacheError(
          `frame ${count} gave features ${describe(map)} instead of ${describe(shape)}: every frame of a video must have one size`,
        );
      }
      await file.write(new Uint8Array(map.data.buffer, map.data.byteOffset, map.data.byteLength));
      count++;
      onProgress({ stage: 'features', done: count, ...(total !== undefined ? { total } : {}) });
    }
    if (!shape) throw new FeatureCacheError('no frames to extract features from');
    await file.close();
    file = undefined;
    await rename(part, join(dir, FEATURES_DATA));
    const info: FeatureCacheInfo = { count, ...shape, backbone: backbone.name, modelSha256: backbone.modelSha256 };
    await writeFile(join(dir, `${FEATURES_META}.part`), `${JSON.stringify(info, null, 2)}\n`);
    await rename(join(dir, `${FEATURES_META}.part`), join(dir, FEATURES_META));
    return info;
  } finally {
    await file?.close();
    await rm(part, { force: true });
  }
}

/** Random access to a feature cache written by `writeFeatureCache` (or by anything honouring the contract). */
export class FeatureCache {
  private constructor(
    readonly dir: string,
    readonly info: FeatureCacheInfo,
    private readonly file: FileHandle,
  ) {}

  /** Opens `dir`, checking that `features.json` is well-formed and `features.f32` has exactly its size. */
  static async open(dir: string): Promise<FeatureCache> {
    const info = await readInfo(dir);
    const data = join(dir, FEATURES_DATA);
    const expected = info.count * info.channels * info.width * info.height * 4;
    const size = existsSync(data) ? (await stat(data)).size : -1;
    if (size !== expected)
      throw new FeatureCacheError(
        `feature cache ${dir}: ${FEATURES_DATA} has ${size < 0 ? 'no file' : `${size} bytes`}, expected ${expected}`,
      );
    return new FeatureCache(dir, info, await open(data, 'r'));
  }

  /** Whether the cache was produced by this backbone's exact weights (else recompute it). */
  matches(backbone: Pick<Backbone, 'name' | 'modelSha256'>): boolean {
    return this.info.backbone === backbone.name && this.info.modelSha256 === backbone.modelSha256;
  }

  /** The features of frame `index` (0-based). */
  async read(index: number): Promise<FeatureMap> {
    const { count, channels, width, height } = this.info;
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new RangeError(`frame ${index} is outside the feature cache's 0..${count - 1}`);
    const data = new Float32Array(channels * width * height);
    const { bytesRead } = await this.file.read(
      new Uint8Array(data.buffer),
      0,
      data.byteLength,
      index * data.byteLength,
    );
    if (bytesRead !== data.byteLength)
      throw new FeatureCacheError(`feature cache ${this.dir}: short read of frame ${index}`);
    return createFeatureMap(channels, width, height, data);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

async function readInfo(dir: string): Promise<FeatureCacheInfo> {
  const path = join(dir, FEATURES_META);
  if (!existsSync(path))
    throw new FeatureCacheError(`no complete feature cache in ${dir} (${FEATURES_META} is missing)`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new FeatureCacheError(`feature cache ${path} is not valid JSON`, { cause: err });
  }
  const dims = ['count', 'channels', 'width', 'height'] as const;
  const bad =
    dims.find((k) => !Number.isInteger(raw[k]) || (raw[k] as number) <= 0) ??
    (['backbone', 'modelSha256'] as const).find((k) => typeof raw[k] !== 'string');
  if (bad) throw new FeatureCacheError(`feature cache ${path} has an invalid "${bad}"`);
  return {
    count: raw.count as number,
    channels: raw.channels as number,
    width: raw.width as number,
    height: raw.height as number,
    backbone: raw.backbone as string,
    modelSha256: raw.modelSha256 as string,
  };
}

function describe(s: { channels: number; width: number; height: number }): string {
  return `[${s.channels},${s.height},${s.width}]`;
}
