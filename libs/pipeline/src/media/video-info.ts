import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { FfprobeData, FfprobeStream } from 'fluent-ffmpeg';
import { InvalidVideoError, ToolError } from '../errors';
import { settings } from '../settings';
import { PROBE_OPTIONS, type Fps } from './ffmpeg-commands';
import { ffprobe, lastLine } from './ffmpeg-runner';

export type { Fps } from './ffmpeg-commands';

/** What the pipeline needs to know about a video, from ffprobe. */
export interface VideoInfo {
  /** Absolute path of the file. */
  readonly path: string;
  /** Stored (coded) size of the first video stream; see `rotation` for the displayed orientation. */
  readonly width: number;
  readonly height: number;
  /** Frame rate as a rational (the stream's average rate, or its base rate when they agree within 1 %). */
  readonly fps: Fps;
  /** `fps.num / fps.den`. */
  readonly fpsValue: number;
  /** Exact number of frames: the container's `nb_frames` when present, else the counted packets. */
  readonly frameCount: number;
  /** Seconds (the video stream's duration, else the container's, else frameCount / fps). */
  readonly duration: number;
  /**
   * Display rotation in degrees, 0, 90, 180 or 270, as ffprobe reports it (display-matrix angle, else the legacy
   * `rotate` tag; their senses differ, which only matters for 90 vs 270). Decoding applies it; 90/270 swap the sides.
   */
  readonly rotation: number;
  readonly pixelFormat: string;
  readonly codec: string;
  readonly hasAudio: boolean;
}

/** A finite positive number from an ffprobe field (fluent-ffmpeg gives numbers or strings such as "N/A"). */
function num(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** Parses "30000/1001"; undefined for "0/0" and other unusable rates. */
export function parseRate(value: unknown): Fps | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(String(value ?? ''));
  if (!m) return undefined;
  const r = { num: Number(m[1]), den: Number(m[2]) };
  return r.num > 0 && r.den > 0 ? r : undefined;
}

/**
 * The stream's frame rate: the average rate (frames / duration) is right for the frame count, but for constant
 * rate streams the base rate is the cleaner rational (25/1 rather than 12800/512), so it wins when they agree.
 */
function frameRate(stream: FfprobeStream): Fps | undefined {
  const avg = parseRate(stream.avg_frame_rate);
  const base = parseRate(stream.r_frame_rate);
  if (!avg) return base;
  if (base && Math.abs(base.num / base.den / (avg.num / avg.den) - 1) < 0.01) return base;
  return avg;
}

/** Rotation from the display matrix side data (`rotation`, parsed into the stream by fluent-ffmpeg) or the old `rotate` tag. */
function rotationOf(stream: FfprobeStream): number {
  const raw = num(stream.rotation) ?? num(stream.tags?.rotate) ?? 0;
  return (((Math.round(raw / 90) * 90) % 360) + 360) % 360;
}

/** Fails with one sentence naming the file, the problem and what to do. */
function invalid(path: string, problem: string): InvalidVideoError {
  return new InvalidVideoError(
    `${path} ${problem}: give a complete video file (MP4, MOV, MKV or WebM) with a video track.`,
  );
}

/** Maps parsed ffprobe output to a `VideoInfo`, or explains why the file is not a usable video. Pure. */
export function videoInfoFromProbe(path: string, data: FfprobeData): VideoInfo {
  // Cover art in audio files shows up as a one-picture video stream: it is not a video.
  const video = data.streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video) return failNoVideo(path, data);
  const width = num(video.width);
  const height = num(video.height);
  const fps = frameRate(video);
  const packets = num(video.nb_read_packets) ?? 0;
  const declared = num(video.nb_frames);
  if (!width || !height) throw invalid(path, 'has a video track without a picture size (the file is damaged)');
  if (!fps) throw invalid(path, 'has a video track without a usable frame rate');
  if (packets === 0) throw invalid(path, 'has a video track with zero frames');
  if (declared !== undefined && packets < declared) {
    throw invalid(path, `is truncated (only ${packets} of its ${declared} frames are in the file)`);
  }
  const fpsValue = fps.num / fps.den;
  const frameCount = declared ?? packets;
  return {
    path,
    width,
    height,
    fps,
    fpsValue,
    frameCount,
    duration: num(video.duration) ?? num(data.format.duration) ?? frameCount / fpsValue,
    rotation: rotationOf(video),
    pixelFormat: String(video.pix_fmt ?? 'unknown'),
    codec: String(video.codec_name ?? 'unknown'),
    hasAudio: data.streams.some((s) => s.codec_type === 'audio'),
  };
}

function failNoVideo(path: string, data: FfprobeData): never {
  if (data.streams.some((s) => s.codec_type === 'audio')) throw invalid(path, 'has only audio, no video track');
  throw invalid(path, 'has no video track');
}

/** Whether a file starts like an ISO-BMFF (MP4/MOV) file: a top-level box type at bytes 4–8. */
async function looksLikeMp4(abs: string): Promise<boolean> {
  const head = Buffer.alloc(8);
  const file = await open(abs, 'r');
  try {
    await file.read(head, 0, 8, 0);
  } finally {
    await file.close();
  }
  return ['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot'].includes(head.toString('latin1', 4, 8));
}

/** ffprobe's last error line without the file name or the "[mov,mp4,… @ 0x…]" context prefix it repeats. */
function probeReason(abs: string, stderr: string): string {
  const line = lastLine(stderr).replace(/^\[[^\]]*\]\s*/, '');
  return (line.startsWith(`${abs}: `) ? line.slice(abs.length + 2) : line) || 'unknown error';
}

/**
 * Reads a video's properties with ffprobe (`-count_packets`, so the frame count is exact and truncation shows).
 * @throws InvalidVideoError when the path is missing or not a file, or the file is not a complete, decodable video.
 * @throws ToolError when ffprobe itself is missing.
 */
export async function probeVideo(path: string): Promise<VideoInfo> {
  const abs = resolve(path); // also keeps paths that start with "-" or look like URLs from being read as such
  const st = await stat(abs).catch(() => undefined);
  if (!st) throw new InvalidVideoError(`Video ${path} does not exist or cannot be read: check the path.`);
  if (!st.isFile()) throw new InvalidVideoError(`${path} is not a file: give the path of a video file.`);
  if (st.size === 0) throw invalid(path, 'is empty');
  let data: FfprobeData;
  try {
    data = await ffprobe(abs, PROBE_OPTIONS);
  } catch (err) {
    if (err instanceof ToolError && err.message.startsWith('ffprobe failed')) {
      // An MP4 cut short before its index (written last unless +faststart): say so, not just "invalid data".
      if (err.details.includes('moov atom not found') && (await looksLikeMp4(abs))) {
        throw invalid(path, 'is truncated or incomplete (its MP4 index, the moov atom, is missing)');
      }
      throw invalid(path, `is not a readable video (ffprobe: ${probeReason(abs, err.details)})`);
    }
    throw err;
  }
  return videoInfoFromProbe(abs, data);
}

/** Displayed size: stored size with the sides swapped for a 90° / 270° rotation. */
export function displaySize(info: Pick<VideoInfo, 'width' | 'height' | 'rotation'>): { width: number; height: number } {
  const swap = info.rotation === 90 || info.rotation === 270;
  return swap ? { width: info.height, height: info.width } : { width: info.width, height: info.height };
}

/**
 * The working resolution of a video: its displayed size scaled so the longer side is at most `maxSide` (never
 * enlarged), aspect kept, both sides even (rounded down, as the baseline does when it scales; at least 2).
 * @param maxSide longest side in pixels. Default `settings().maxSide` (`STREAMEDIT_MAX_SIDE`, 512).
 */
export function workingSize(
  info: Pick<VideoInfo, 'width' | 'height' | 'rotation'>,
  maxSide = settings().maxSide,
): { width: number; height: number } {
  const { width, height } = displaySize(info);
  const scale = Math.min(1, maxSide / Math.max(width, height));
  const even = (v: number): number => Math.max(2, Math.floor(v / 2) * 2);
  // A small epsilon so exact ratios (512 · 256/512) do not lose a pixel to floating point.
  return { width: even(width * scale + 1e-9), height: even(height * scale + 1e-9) };
}
