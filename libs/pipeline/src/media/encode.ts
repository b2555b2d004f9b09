import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { RgbFrame } from '../image/frame';
import { noProgress, type ProgressListener } from '../progress';
import { concatVideos } from './concat';
import { encodeCommand, type Fps } from './ffmpeg-commands';
import { runFfmpeg } from './ffmpeg-runner';

export interface EncodeOptions {
  /** Output MP4 path; written only when the whole encode succeeded. */
  readonly out: string;
  /** Frame rate of the output (use the source's rational `fps` to keep timing). */
  readonly fps: Fps;
  /** A video whose audio track, if it has one, is copied (from its start) into the output, as {@link concatVideos} does. */
  readonly audioFrom?: string;
  /** x264 CRF (0–51, lower = better). Default 18 (visually lossless for talking heads). */
  readonly crf?: number;
  /** x264 preset. Default `medium`. */
  readonly preset?: string;
  /** Total frames, when known, for progress events. */
  readonly total?: number;
  readonly onProgress?: ProgressListener;
}

/** A hidden temp name next to `out`: same filesystem, so the final rename is atomic. */
function tempPathFor(out: string): string {
  return join(dirname(out), `.${basename(out)}.${randomBytes(6).toString('hex')}.partial.mp4`);
}

/** Frames as raw RGB bytes for ffmpeg's stdin; every frame must have the first frame's size. */
async function* rawBytes(
  first: RgbFrame,
  rest: AsyncIterator<RgbFrame>,
  onFrame: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  let n = 1;
  try {
    yield first.data;
    onFrame(n);
    for (let r = await rest.next(); !r.done; r = await rest.next()) {
      const f = r.value;
      if (f.width !== first.width || f.height !== first.height) {
        throw new RangeError(
          `frame ${n} is ${f.width}×${f.height}, the video is ${first.width}×${first.height}: every frame must have the same size`,
        );
      }
      yield f.data;
      onFrame(++n);
    }
  } finally {
    await rest.return?.(); // stops a decoding source (its ffmpeg) when the encode ends early
  }
}

/**
 * Encodes frames as an H.264 MP4 (yuv420p, `+faststart`) at `fps`, copying the audio of `audioFrom` when it has
 * one (every frame kept; audio ends within the video). The file is written next to `out` under a temporary name and renamed at the end,
 * so a failure (ffmpeg error, a throwing frame source) leaves nothing at `out`. Frames need even sizes (yuv420p).
 * @returns the number of frames encoded.
 */
export async function encodeVideo(frames: AsyncIterable<RgbFrame>, opts: EncodeOptions): Promise<number> {
  const out = resolve(opts.out);
  const it = frames[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) throw new RangeError('encodeVideo needs at least one frame');
  const { width, height } = head.value;
  if (width % 2 || height % 2) throw new RangeError(`H.264 yuv420p needs even sizes, got ${width}×${height}`);
  const onProgress = opts.onProgress ?? noProgress;
  let count = 0;
  const input = Readable.from(
    rawBytes(head.value, it, (n) => {
      count = n;
      onProgress({ stage: 'encode', done: n, total: opts.total });
    }),
    { objectMode: false },
  );
  const tmp = tempPathFor(out);
  const spec = encodeCommand({
    width,
    height,
    fps: opts.fps,
    crf: opts.crf ?? 18,
    preset: opts.preset ?? 'medium',
    output: tmp,
  });
  try {
    await runFfmpeg(spec, input);
    // The audio goes in afterwards, when the video's length is known (the frames may be fewer than the source's).
    if (opts.audioFrom === undefined) await rename(tmp, out);
    else await concatVideos([tmp], out, { audioFrom: opts.audioFrom });
    return count;
  } finally {
    input.destroy(); // ends the frame pump if ffmpeg failed first
    await it.return?.(); // and the source, also when the pump never started
    await rm(tmp, { force: true });
  }
}
