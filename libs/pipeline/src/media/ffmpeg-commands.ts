/**
 * ffmpeg / ffprobe command lines as pure data: each function maps a request to the arguments, nothing runs here
 * (`ffmpeg-runner.ts` is the one place that starts the tools). Keeping them pure makes them easy to read and test.
 */

/** A rational frame rate, e.g. 30000/1001; `num / den` frames per second. */
export interface Fps {
  readonly num: number;
  readonly den: number;
}

/** Marks a pipe end instead of a file: ffmpeg's stdin as an input, its stdout as the output. */
export const PIPE = 'pipe:';

export interface FfmpegInput {
  /** A file path, or {@link PIPE} for stdin. */
  readonly source: string;
  /** Options placed before this input's `-i` (global options such as `-v` may go here too). */
  readonly options: readonly string[];
}

/** One ffmpeg invocation: inputs, then the options of its single output, then the output. */
export interface FfmpegSpec {
  readonly inputs: readonly FfmpegInput[];
  readonly outputOptions: readonly string[];
  /** A file path, or {@link PIPE} for stdout. */
  readonly output: string;
}

/** Splits a fixed option string into argv tokens (none of these contain spaces); keeps the specs readable. */
const argv = (options: string): string[] => options.split(' ');

/** Quiet, no banner: stderr then carries only real errors, which the runner keeps for `ToolError` details. */
const QUIET = argv('-hide_banner -v error');

/**
 * ffprobe options after `-show_streams -show_format`: `-count_packets` reads the whole container (demuxing only,
 * tens of ms) so the frame count is exact even without `nb_frames`, and a truncated file shows fewer packets.
 */
export const PROBE_OPTIONS: readonly string[] = argv('-v error -count_packets');

export interface DecodeCommandOptions {
  /** Output size (the working size, display orientation). */
  readonly width: number;
  readonly height: number;
  /** First frame (0-based, exact: counted by the `trim` filter, not seeked by time). Default 0. */
  readonly start?: number;
  /** Frames to decode at most. Default: all. */
  readonly count?: number;
}

/**
 * Decode a video's first video stream to raw `rgb24` frames on stdout, scaled to the working size.
 * - `-fps_mode passthrough`: one output frame per decoded frame (no duplication/dropping), so counts are exact.
 * - `scale … flags=area`: area averaging when downscaling (as cv2.INTER_AREA); at the source size it is the plain
 *   YUV→RGB conversion, which then equals OpenCV's `VideoCapture` frames bit for bit on untagged BT.601 clips.
 * - ffmpeg's autorotate applies the rotation metadata before the filters, so width/height are display sizes.
 */
export function decodeCommand(path: string, opts: DecodeCommandOptions): FfmpegSpec {
  const filters = [`scale=${opts.width}:${opts.height}:flags=area`];
  if (opts.start) filters.unshift(`trim=start_frame=${opts.start}`);
  const frames = opts.count !== undefined && Number.isFinite(opts.count) ? ['-frames:v', String(opts.count)] : [];
  return {
    inputs: [{ source: path, options: [...QUIET, '-nostdin'] }],
    outputOptions: [
      ...argv('-map 0:v:0 -fps_mode passthrough -vf'),
      filters.join(','),
      ...frames,
      ...argv('-pix_fmt rgb24 -f rawvideo'),
    ],
    output: PIPE,
  };
}

export interface EncodeCommandOptions {
  readonly width: number;
  readonly height: number;
  readonly fps: Fps;
  /** x264 constant rate factor (0–51, lower = better). */
  readonly crf: number;
  /** x264 preset (speed/size trade-off). */
  readonly preset: string;
  /** The file ffmpeg writes (the caller's temp file). */
  readonly output: string;
}

/**
 * Encode raw `rgb24` frames from stdin as H.264 (yuv420p, BT.601 untagged, the matrix the decoder assumes for
 * untagged input, so a decode of the result round-trips) in MP4 at the given rational frame rate, index at the
 * front (`+faststart`). Video only: audio is added by {@link concatCommand} once the video's length is known.
 */
export function encodeCommand(opts: EncodeCommandOptions): FfmpegSpec {
  const size = `${opts.width}x${opts.height}`;
  const rate = `${opts.fps.num}/${opts.fps.den}`;
  const raw = [...argv('-f rawvideo -pix_fmt rgb24 -video_size'), size, '-framerate', rate];
  const video = [...argv('-c:v libx264 -preset'), opts.preset, '-crf', String(opts.crf), ...argv('-pix_fmt yuv420p')];
  return {
    inputs: [{ source: PIPE, options: [...QUIET, ...raw] }],
    outputOptions: ['-map', '0:v:0', ...video, ...argv('-movflags +faststart -f mp4')],
    output: opts.output,
  };
}

/**
 * The list file of ffmpeg's concat demuxer for `paths` (absolute), one `file '…'` line each; a `'` inside a path is
 * written as `'\''` (close quote, escaped quote, reopen), the demuxer's quoting rule.
 */
export function concatList(paths: readonly string[]): string {
  return paths.map((p) => `file '${p.replace(/'/g, "'\\''")}'\n`).join('');
}

export interface ConcatCommandOptions {
  /** The concat list file ({@link concatList}). */
  readonly list: string;
  /** A video whose audio track (if any) is copied into the output. */
  readonly audioFrom?: string;
  /**
   * Seconds of `audioFrom` to read (`-t` on that input: packets starting at or after it are left out); the cut
   * that keeps audio longer than the video within it ({@link audioCutSeconds}). Default: all of the audio.
   */
  readonly audioSeconds?: number;
  /** The file ffmpeg writes (the caller's temp file). */
  readonly output: string;
}

/**
 * Joins MP4 segments (same codec and settings, e.g. per-window encodes of {@link encodeCommand}) into one MP4
 * without re-encoding (`-c copy`: the frames are bit-identical), optionally adding the audio of `audioFrom`.
 * `-safe 0` allows absolute paths in the list (we write it ourselves). No `-shortest`: it would cut the video
 * when the audio ends first (every frame must stay); audio longer than the video is cut by `audioSeconds`.
 */
export function concatCommand(opts: ConcatCommandOptions): FfmpegSpec {
  const inputs: FfmpegInput[] = [{ source: opts.list, options: [...QUIET, ...argv('-f concat -safe 0')] }];
  const audio: string[] = [];
  if (opts.audioFrom !== undefined) {
    const cut = opts.audioSeconds === undefined ? [] : ['-t', opts.audioSeconds.toFixed(6)];
    inputs.push({ source: opts.audioFrom, options: cut });
    audio.push(...argv('-map 1:a:0?'));
  }
  return {
    inputs,
    outputOptions: ['-map', '0:v:0', ...audio, ...argv('-c copy -movflags +faststart -f mp4')],
    output: opts.output,
  };
}

export interface ClipCommandOptions {
  /** Start and end in seconds within the source. */
  readonly start: number;
  readonly end: number;
  /** Square (or any) crop window in source pixels. */
  readonly crop?: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** Output side (square), e.g. 512 as HDTF's protocol. */
  readonly size: number;
  readonly output: string;
}

/**
 * Cuts a time range of a source video, crops a window and resizes it to `size`×`size` (HDTF preparation:
 * split by time stamps, crop the facial region, resize to 512²), keeping the audio (AAC).
 */
export function clipCommand(source: string, opts: ClipCommandOptions): FfmpegSpec {
  const filters = [
    ...(opts.crop ? [`crop=${opts.crop.width}:${opts.crop.height}:${opts.crop.x}:${opts.crop.y}`] : []),
    `scale=${opts.size}:${opts.size}:flags=area`,
  ];
  return {
    inputs: [{ source, options: [...QUIET, '-ss', opts.start.toFixed(3), '-to', opts.end.toFixed(3)] }],
    outputOptions: [
      '-vf',
      filters.join(','),
      ...argv('-c:v libx264 -preset medium -crf 16 -pix_fmt yuv420p -c:a aac -movflags +faststart -f mp4'),
    ],
    output: opts.output,
  };
}

/**
 * ffprobe arguments listing the first audio stream's packets (start and duration) between `from` and `to` seconds
 * and the file's start time, as JSON: what {@link concatCommand}'s audio cut is chosen from. `-read_intervals`
 * seeks, so only the packets around the cut are read, however long the file.
 */
export function audioPacketsProbe(path: string, from: number, to: number): string[] {
  const interval = `${Math.max(0, from).toFixed(6)}%${to.toFixed(6)}`;
  return [
    ...argv('-v error -select_streams a:0 -read_intervals'),
    interval,
    ...argv('-show_entries packet=pts_time,duration_time:format=start_time -of json'),
    path,
  ];
}
