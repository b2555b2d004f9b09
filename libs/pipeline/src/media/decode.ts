import type { Readable } from 'node:stream';
import { InvalidVideoError } from '../errors';
import { createFrame, type RgbFrame } from '../image/frame';
import { decodeCommand } from './ffmpeg-commands';
import { startFfmpeg } from './ffmpeg-runner';
import { probeVideo, workingSize, type VideoInfo } from './video-info';

export interface DecodeOptions {
  /** Longest side of the decoded frames (never enlarged). Default `settings().maxSide` (512). */
  readonly maxSide?: number;
  /** First frame, 0-based and exact. Default 0. */
  readonly start?: number;
  /** Frames to decode at most. Default: to the end. */
  readonly count?: number;
}

/** The frames a decode of `info` with `opts` yields, and their size. */
export function decodePlan(
  info: VideoInfo,
  opts: DecodeOptions = {},
): { width: number; height: number; start: number; count: number } {
  const start = opts.start ?? 0;
  if (!Number.isInteger(start) || start < 0) throw new RangeError(`start must be a frame index ≥ 0, got ${start}`);
  if (opts.count !== undefined && !(opts.count >= 0)) throw new RangeError(`count must be ≥ 0, got ${opts.count}`);
  if (start >= info.frameCount) {
    throw new InvalidVideoError(
      `Start frame ${start} is past the end of ${info.path} (${info.frameCount} frames): give a start below ${info.frameCount}.`,
    );
  }
  const count = Math.min(opts.count ?? Infinity, info.frameCount - start);
  return { ...workingSize(info, opts.maxSide), start, count };
}

/**
 * Cuts a byte stream into frames of `size` bytes, each copied into its own buffer (the consumer may keep it). The
 * stream is pulled one chunk at a time, so nothing more than a chunk and the frame being filled is held here.
 * A shorter tail (a damaged stream) is yielded as is for the caller to report.
 */
export async function* frameBytes(stream: Readable, size: number): AsyncGenerator<Uint8Array> {
  let frame = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Buffer;
    for (let at = 0; at < bytes.length;) {
      const n = Math.min(size - filled, bytes.length - at);
      frame.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === size) {
        yield frame;
        frame = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield frame.subarray(0, filled);
}

/**
 * Streams a video's frames as RGB at the working size (longer side ≤ `maxSide`, area downscaling), decoded by
 * ffmpeg into a pipe and read one frame at a time: memory stays at about one frame whatever the length, ffmpeg
 * waits while the consumer is busy (pipe backpressure), and it is killed (and reaped) when the consumer stops early.
 * @param source a path, or a `VideoInfo` from {@link probeVideo} to skip probing again.
 * @throws InvalidVideoError for an unusable video, a start past the end, or a file that decodes to fewer frames than it declares.
 */
export async function* decodeFrames(source: string | VideoInfo, opts: DecodeOptions = {}): AsyncGenerator<RgbFrame> {
  const info = typeof source === 'string' ? await probeVideo(source) : source;
  const plan = decodePlan(info, opts);
  if (plan.count === 0) return;
  const size = plan.width * plan.height * 3;
  const proc = startFfmpeg(decodeCommand(info.path, plan));
  let produced = 0;
  try {
    for await (const data of frameBytes(proc.stdout, size)) {
      if (data.length !== size) break; // a partial last frame: reported below as missing frames
      produced++;
      yield createFrame(plan.width, plan.height, data);
    }
    await proc.done;
    if (produced < plan.count) {
      throw new InvalidVideoError(
        `${info.path} decoded to only ${produced} of ${plan.count} frames (the file is damaged): re-export or re-download it.`,
      );
    }
  } finally {
    await proc.stop(); // no-op once ffmpeg has exited; kills it when the consumer broke out early
  }
}
