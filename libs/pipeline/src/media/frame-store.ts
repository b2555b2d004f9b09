import { closeSync, openSync, read, readSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { noProgress, type ProgressListener } from '../progress';
import { decodeFrames, decodePlan, type DecodeOptions } from './decode';
import type { Fps } from './ffmpeg-commands';
import { probeVideo } from './video-info';

/**
 * Decoded frames on disk, for random access (training, reference selection). THE FORMAT IS A CONTRACT with the
 * Python trainer (`numpy.memmap(dir/frames.u8, uint8, 'r', shape=(count, height, width, 3))`):
 * - `frames.u8`: raw uint8 `[count, height, width, 3]`, RGB, C-contiguous, no header;
 * - `frames.json`: `{ count, width, height, fps: { num, den }, source }`, written last: a store without it is incomplete.
 */
export const FRAMES_FILE = 'frames.u8';
export const META_FILE = 'frames.json';

export interface FrameStoreMeta {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly fps: Fps;
  /** The video the frames came from (absolute path), or null. */
  readonly source: string | null;
}

/** Appends frames to a new store; `finish()` writes the metadata that makes it readable. */
export class FrameStoreWriter {
  private count = 0;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly file: FileHandle,
    private readonly meta: Omit<FrameStoreMeta, 'count'>,
  ) {}

  /** Frames appended so far. */
  get length(): number {
    return this.count;
  }

  /** Appends one frame (must have the store's size). */
  async append(frame: RgbFrame): Promise<void> {
    if (this.closed) throw new RangeError('frame store already finished');
    if (frame.width !== this.meta.width || frame.height !== this.meta.height) {
      throw new RangeError(
        `frame ${frame.width}×${frame.height} does not fit a ${this.meta.width}×${this.meta.height} store`,
      );
    }
    const bytes = frame.data.length;
    const at = this.count++ * bytes; // reserved before the await, so overlapping appends keep their order
    await this.file.write(frame.data, 0, bytes, at);
  }

  /** Closes the data file and writes `frames.json` (atomically: temp + rename). */
  async finish(): Promise<FrameStoreMeta> {
    if (this.closed) throw new RangeError('frame store already finished');
    this.closed = true;
    await this.file.close();
    const meta: FrameStoreMeta = { count: this.count, ...this.meta };
    const tmp = join(this.dir, `${META_FILE}.tmp`);
    await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(tmp, join(this.dir, META_FILE));
    return meta;
  }

  /** Gives up: closes and removes the data file (the directory stays). */
  async abort(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.file.close();
    }
    await rm(join(this.dir, FRAMES_FILE), { force: true });
  }
}

/** Validates `frames.json` content; anything off is an `InputError` naming the store. */
function parseMeta(dir: string, text: string): FrameStoreMeta {
  const bad = (why: string): InputError =>
    new InputError(`Frame store ${dir} is invalid (${why}): rebuild it with \`streamedit frames --format store\`.`);
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad(`${META_FILE} is not JSON`);
  }
  const int = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
  const fps = m.fps as Fps | undefined;
  if (!int(m.count) || !int(m.width) || !int(m.height) || !fps || !(fps.num > 0) || !(fps.den > 0)) {
    throw bad(`${META_FILE} lacks count, width, height or fps`);
  }
  return {
    count: m.count as number,
    width: m.width as number,
    height: m.height as number,
    fps: { num: fps.num, den: fps.den },
    source: typeof m.source === 'string' ? m.source : null,
  };
}

/** A finished store opened for reading: positional reads of single frames, never the whole file. */
export class FrameStore implements FrameStoreMeta, AsyncIterable<RgbFrame> {
  readonly count: number;
  readonly width: number;
  readonly height: number;
  readonly fps: Fps;
  readonly source: string | null;
  private fd: number | undefined;

  private constructor(
    readonly dir: string,
    meta: FrameStoreMeta,
    fd: number,
  ) {
    ({ count: this.count, width: this.width, height: this.height, fps: this.fps, source: this.source } = meta);
    this.fd = fd;
  }

  /** Bytes of one frame. */
  get frameBytes(): number {
    return this.width * this.height * 3;
  }

  /**
   * Starts a new store in `dir` (created if needed; an existing store there is replaced).
   * @param source the video the frames come from, recorded in `frames.json`.
   */
  static async create(
    dir: string,
    width: number,
    height: number,
    fps: Fps,
    source: string | null = null,
  ): Promise<FrameStoreWriter> {
    const abs = resolve(dir);
    await mkdir(abs, { recursive: true });
    await rm(join(abs, META_FILE), { force: true }); // the old store, if any, is no longer complete
    const file = await open(join(abs, FRAMES_FILE), 'w');
    return new FrameStoreWriter(abs, file, { width, height, fps, source });
  }

  /** Opens a finished store. @throws InputError when it is missing, incomplete or inconsistent. */
  static async open(dir: string): Promise<FrameStore> {
    const abs = resolve(dir);
    const text = await readFile(join(abs, META_FILE), 'utf8').catch(() => {
      throw new InputError(
        `${dir} is not a finished frame store (no ${META_FILE}): create it with \`streamedit frames --format store\`.`,
      );
    });
    const meta = parseMeta(dir, text);
    const expected = meta.count * meta.width * meta.height * 3;
    const size = (await stat(join(abs, FRAMES_FILE)).catch(() => undefined))?.size;
    if (size !== expected) {
      throw new InputError(
        `Frame store ${dir} is invalid (${FRAMES_FILE} has ${size ?? 0} bytes, expected ${expected}): rebuild it.`,
      );
    }
    return new FrameStore(abs, meta, openSync(join(abs, FRAMES_FILE), 'r'));
  }

  private checkIndex(i: number): number {
    if (this.fd === undefined) throw new RangeError('frame store is closed');
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new RangeError(`frame ${i} is outside 0…${this.count - 1}`);
    return this.fd;
  }

  /** Frame `i` (0-based), read with one positional read. */
  async read(i: number): Promise<RgbFrame> {
    const fd = this.checkIndex(i);
    const data = new Uint8Array(this.frameBytes);
    // fs.read with a numeric fd (the callback API), so the same descriptor serves readSync.
    return await new Promise((ok, fail) =>
      read(fd, data, 0, data.length, i * data.length, (err, n) => {
        if (err) fail(err);
        else if (n !== data.length) fail(new RangeError(`short read of frame ${i} in ${this.dir}`));
        else ok(createFrame(this.width, this.height, data));
      }),
    );
  }

  /** Frame `i`, synchronously (for tight loops where an await per frame costs more than the read). */
  readSync(i: number): RgbFrame {
    const fd = this.checkIndex(i);
    const data = new Uint8Array(this.frameBytes);
    const n = readSync(fd, data, 0, data.length, i * data.length);
    if (n !== data.length) throw new RangeError(`short read of frame ${i} in ${this.dir}`);
    return createFrame(this.width, this.height, data);
  }

  /** Every frame in order, one read at a time. */
  async *[Symbol.asyncIterator](): AsyncGenerator<RgbFrame> {
    for (let i = 0; i < this.count; i++) yield await this.read(i);
  }

  meta(): FrameStoreMeta {
    return { count: this.count, width: this.width, height: this.height, fps: this.fps, source: this.source };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/**
 * Decodes a video (working size, `opts` as in `decodeFrames`) into a frame store in `dir`, streaming: one frame in
 * memory at a time. Progress: stage `decode`. On failure the partial data file is removed.
 */
export async function writeFrameStore(
  path: string,
  dir: string,
  opts: DecodeOptions = {},
  onProgress: ProgressListener = noProgress,
): Promise<FrameStoreMeta> {
  const info = await probeVideo(path);
  const plan = decodePlan(info, opts);
  const writer = await FrameStore.create(dir, plan.width, plan.height, info.fps, info.path);
  try {
    for await (const frame of decodeFrames(info, opts)) {
      await writer.append(frame);
      onProgress({ stage: 'decode', done: writer.length, total: plan.count });
    }
    return await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
