import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { InputError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { frameBytes } from '../media/decode';
import { encodeVideo } from '../media/encode';
import { PIPE, type FfmpegSpec, type Fps } from '../media/ffmpeg-commands';
import { runFfmpeg } from '../media/ffmpeg-runner';
import { BoundedQueue } from './bounded-queue';

/**
 * Raw RGB24 frames of `width`×`height` from a byte stream (e.g. stdin), one at a time (the stream's own
 * backpressure holds the writer). @throws InputError when the stream ends inside a frame.
 */
export async function* rawFrames(stream: Readable, width: number, height: number): AsyncGenerator<RgbFrame> {
  const size = width * height * 3;
  let n = 0;
  for await (const bytes of frameBytes(stream, size)) {
    if (bytes.length !== size)
      throw new InputError(
        `The raw input ended inside frame ${n} (${bytes.length} of ${size} bytes): send whole ${width}×${height} RGB24 frames.`,
      );
    n++;
    yield createFrame(width, height, bytes);
  }
}

/** Where a live session's edited frames go. */
export type LiveOutputKind = 'hls' | 'mp4' | 'raw';

/** The kind of output a target names: `-` = raw RGB on stdout, `*.m3u8` = HLS, `*.mp4` = MP4. */
export function liveOutputKind(target: string): LiveOutputKind {
  if (target === '-') return 'raw';
  if (/\.m3u8$/i.test(target)) return 'hls';
  if (/\.mp4$/i.test(target)) return 'mp4';
  throw new InputError(
    `Cannot tell the output format of "${target}": name a .m3u8 (HLS), a .mp4, or - (raw RGB on stdout).`,
  );
}

/** A sink for edited frames: `write` waits while the output is busy (backpressure reaches the session). */
export interface LiveSink {
  write(frame: RgbFrame): Promise<void>;
  /** No more frames: waits until the output is complete (ffmpeg finished, stdout flushed). */
  finish(): Promise<void>;
  /** Gives up (ffmpeg is stopped; an MP4 is not left behind). */
  abort(): Promise<void>;
}

export interface LiveSinkOptions {
  readonly fps: Fps;
  /** For `-`: the stream raw frames go to. Default `process.stdout`. */
  readonly stdout?: Writable;
  /** HLS segment length in seconds. Default 2. */
  readonly segmentSeconds?: number;
}

/**
 * Opens the output `target` names ({@link liveOutputKind}): HLS through ffmpeg's hls muxer (segments
 * `<name>_00000.ts`… beside the playlist, a growing EVENT playlist a player can follow while the session runs), an
 * MP4 through `encodeVideo` (written at the end, atomically), or raw RGB24 frames on stdout.
 */
export async function openLiveSink(target: string, options: LiveSinkOptions): Promise<LiveSink> {
  const kind = liveOutputKind(target);
  if (kind === 'raw') return new ChannelSink((frames) => writeRaw(frames, options.stdout ?? process.stdout));
  const out = resolve(target);
  await mkdir(dirname(out), { recursive: true });
  if (kind === 'mp4')
    return new ChannelSink((frames) =>
      encodeVideo(frames, { out, fps: options.fps, preset: 'veryfast' }).then(() => undefined),
    );
  return new ChannelSink((frames) => writeHls(frames, out, options));
}

/** ffmpeg's hls muxer fed with raw RGB on stdin; keyframes every segment so each segment plays on its own. */
export function hlsCommand(o: {
  width: number;
  height: number;
  fps: Fps;
  playlist: string;
  segmentSeconds: number;
}): FfmpegSpec {
  const gop = String(Math.max(1, Math.round((o.segmentSeconds * o.fps.num) / o.fps.den)));
  const base = basename(o.playlist).replace(/\.m3u8$/i, '');
  return {
    inputs: [
      {
        source: PIPE,
        options: [
          '-hide_banner',
          '-v',
          'error',
          '-f',
          'rawvideo',
          '-pix_fmt',
          'rgb24',
          '-video_size',
          `${o.width}x${o.height}`,
          '-framerate',
          `${o.fps.num}/${o.fps.den}`,
        ],
      },
    ],
    outputOptions: [
      ...[
        '-map',
        '0:v:0',
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-tune',
        'zerolatency',
        '-crf',
        '20',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0'],
      ...['-f', 'hls', '-hls_time', String(o.segmentSeconds), '-hls_list_size', '0', '-hls_playlist_type', 'event'],
      ...['-hls_segment_filename', join(dirname(o.playlist), `${base}_%05d.ts`)],
    ],
    output: o.playlist,
  };
}

async function writeHls(frames: AsyncIterable<RgbFrame>, playlist: string, options: LiveSinkOptions): Promise<void> {
  const it = frames[Symbol.asyncIterator]();
  const head = await it.next();
  if (head.done) throw new InputError('No frame was edited, so there is no HLS stream to write.');
  const { width, height } = head.value;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield head.value.data;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value.data;
  }
  await runFfmpeg(
    hlsCommand({ width, height, fps: options.fps, playlist, segmentSeconds: options.segmentSeconds ?? 2 }),
    Readable.from(bytes(), { objectMode: false }),
  );
}

async function writeRaw(frames: AsyncIterable<RgbFrame>, out: Writable): Promise<void> {
  for await (const f of frames) if (!out.write(f.data)) await once(out, 'drain');
}

/** Frames handed to a consumer (an encoder) through a small blocking queue. */
class ChannelSink implements LiveSink {
  private readonly queue = new BoundedQueue<RgbFrame>(2, 'block');
  private readonly done: Promise<void>;
  private aborted = false;

  constructor(consume: (frames: AsyncIterable<RgbFrame>) => Promise<void>) {
    const queue = this.queue;
    const aborted = () => this.aborted;
    this.done = consume({
      async *[Symbol.asyncIterator]() {
        for (let f = await queue.shift(); f !== undefined; f = await queue.shift()) yield f;
        // An aborted output must fail its encoder, so no half-written file is renamed into place.
        if (aborted()) throw new Error('the live output was aborted');
      },
    });
    this.done.catch(() => undefined); // surfaced by write/finish
  }

  async write(frame: RgbFrame): Promise<void> {
    const stopped = this.done.then(() => {
      throw new Error('the output stopped before the last frame');
    });
    stopped.catch(() => undefined);
    await Promise.race([this.queue.push(frame), stopped]);
  }

  async finish(): Promise<void> {
    this.queue.close();
    await this.done;
  }

  async abort(): Promise<void> {
    this.aborted = true;
    this.queue.close(true);
    await this.done.catch(() => undefined);
  }
}
