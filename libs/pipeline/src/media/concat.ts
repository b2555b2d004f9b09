import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { audioCutFor } from './audio-cut';
import { concatCommand, concatList } from './ffmpeg-commands';
import { runFfmpeg } from './ffmpeg-runner';
import { probeVideo } from './video-info';

export interface ConcatOptions {
  /**
   * A video whose audio track, if it has one, is copied (from its start). The output keeps every video frame: audio
   * that ends first just ends (silence after it), audio that runs longer is cut to end within the video.
   */
  readonly audioFrom?: string;
}

/** Seconds of video in `parts`: their frames at their own rates (exact rationals, as encoded). */
async function videoSeconds(parts: readonly string[]): Promise<number> {
  let total = 0;
  for (const part of parts) {
    const info = await probeVideo(part);
    total += (info.frameCount * info.fps.den) / info.fps.num;
  }
  return total;
}

/**
 * Joins MP4 segments encoded alike (same size, codec and settings) into `out` without re-encoding, in the order
 * given, adding the audio of `audioFrom`. Written under a temporary name and renamed at the end, so a failure leaves
 * nothing at `out`.
 */
export async function concatVideos(parts: readonly string[], out: string, options: ConcatOptions = {}): Promise<void> {
  if (parts.length === 0) throw new RangeError('concatVideos needs at least one segment');
  const target = resolve(out);
  const tag = randomBytes(6).toString('hex');
  const list = join(dirname(target), `.${basename(target)}.${tag}.concat.txt`);
  const tmp = join(dirname(target), `.${basename(target)}.${tag}.partial.mp4`);
  try {
    const paths = parts.map((p) => resolve(p));
    await writeFile(list, concatList(paths));
    const audioFrom = options.audioFrom === undefined ? undefined : resolve(options.audioFrom);
    const audioSeconds = audioFrom === undefined ? undefined : await audioCutFor(audioFrom, await videoSeconds(paths));
    await runFfmpeg(concatCommand({ list, audioFrom, audioSeconds, output: tmp }));
    await rename(tmp, target);
  } finally {
    await rm(list, { force: true });
    await rm(tmp, { force: true });
  }
}
