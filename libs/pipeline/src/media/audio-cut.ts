import { audioPacketsProbe } from './ffmpeg-commands';
import { runFfprobeJson } from './ffmpeg-runner';

/** One audio packet as ffprobe lists it: its start and duration in seconds (absolute file time). */
export interface AudioPacket {
  readonly pts: number;
  readonly duration: number;
}

/** Seconds of packets read on each side of the cut: far more than any audio packet lasts. */
const MARGIN_S = 2;

/**
 * How many seconds of a file's audio to keep so that it ends within a video of `videoSeconds` (both starting at 0
 * in the output): the start of the first packet that would end after the video, relative to the file's start
 * (`fileStart`: ffmpeg shifts every stream by it). Audio is copied, so it is cut at a packet boundary: it ends at
 * most one packet (~21 ms of AAC) before the video, never after. Undefined when no packet ends after the video
 * (nothing to cut). Pure.
 */
export function audioCutSeconds(
  packets: readonly AudioPacket[],
  fileStart: number,
  videoSeconds: number,
): number | undefined {
  // 1 µs: ffprobe prints times to the microsecond, so an end exactly at the video's end may read a hair later.
  const over = packets.find((p) => p.pts + p.duration - fileStart > videoSeconds + 1e-6);
  return over === undefined ? undefined : Math.max(0, over.pts - fileStart);
}

/** A finite number from an ffprobe JSON field ("1.984000"), else `fallback`. */
function seconds(value: unknown, fallback: number): number {
  const n = typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

interface PacketsJson {
  readonly packets?: ReadonlyArray<Record<string, unknown>>;
  readonly format?: Readonly<Record<string, unknown>>;
}

/**
 * The audio cut of {@link audioCutSeconds} for the audio of `path` under a video of `videoSeconds`, read from the
 * packets around that point only. Undefined when the file has no audio or its audio ends within the video.
 * @throws ToolError when ffprobe fails (the file was probed as a video before, so that is not bad input).
 */
export async function audioCutFor(path: string, videoSeconds: number): Promise<number | undefined> {
  const probe = async (from: number, to: number) =>
    (await runFfprobeJson(audioPacketsProbe(path, from, to))) as PacketsJson;
  // Packets are read in file time, which starts at the file's start time (not 0 in e.g. MPEG-TS): ask it first,
  // reading no packets (an empty interval).
  const start = seconds((await probe(0, 0)).format?.start_time, 0);
  const raw = await probe(start + videoSeconds - MARGIN_S, start + videoSeconds + MARGIN_S);
  const packets = (raw.packets ?? [])
    .map((p) => ({ pts: seconds(p.pts_time, NaN), duration: seconds(p.duration_time, 0) }))
    .filter((p) => Number.isFinite(p.pts));
  return audioCutSeconds(packets, start, videoSeconds);
}
