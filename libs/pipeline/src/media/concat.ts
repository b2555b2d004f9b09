import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { concatCommand, concatList } from './ffmpeg-commands';
import { runFfmpeg } from './ffmpeg-runner';

export interface ConcatOptions {
  /** A video whose audio track, if it has one, is copied (from its start, cut to the video's length). */
  readonly audioFrom?: string;
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
    await writeFile(list, concatList(parts.map((p) => resolve(p))));
    const audioFrom = options.audioFrom === undefined ? undefined : resolve(options.audioFrom);
    await runFfmpeg(concatCommand({ list, audioFrom, output: tmp }));
    await rename(tmp, target);
  } finally {
    await rm(list, { force: true });
    await rm(tmp, { force: true });
  }
}
