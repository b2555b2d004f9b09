import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../errors';
import { clipCommand } from '../media/ffmpeg-commands';
import { runFfmpeg } from '../media/ffmpeg-runner';
import { noProgress, type ProgressListener } from '../progress';
import { parseHdtfLists } from './hdtf-lists';

export interface PrepareResult {
  readonly written: readonly string[];
  /** Clips whose source video was not found in the sources folder. */
  readonly missing: readonly string[];
}

/**
 * `hdtf prepare`: for each clip of an HDTF annotation list (`XX_annotion_time.txt`, with `XX_crop_wh.txt` beside
 * it), cut the time range from the user's downloaded source, crop the facial window and resize to `size`².
 */
export async function prepareHdtf(listPath: string, sourcesDir: string, outDir: string, size = 512, onProgress: ProgressListener = noProgress): Promise<PrepareResult> {
  const list = await readFile(listPath, 'utf8').catch(() => {
    throw new InputError(`Cannot read the HDTF list ${listPath}: give the path of an XX_annotion_time.txt file.`);
  });
  const cropPath = join(dirname(listPath), basename(listPath).replace('annotion_time', 'crop_wh'));
  const crops = cropPath !== listPath && existsSync(cropPath) ? await readFile(cropPath, 'utf8') : '';
  const clips = parseHdtfLists(list, crops);
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const missing: string[] = [];
  for (const [i, clip] of clips.entries()) {
    const source = join(sourcesDir, clip.source);
    if (!existsSync(source)) {
      missing.push(clip.name);
      continue;
    }
    const out = join(outDir, `${clip.name}.mp4`);
    const temp = join(outDir, `.${clip.name}.partial.mp4`);
    try {
      await runFfmpeg(clipCommand(source, { start: clip.start, end: clip.end, crop: clip.crop, size, output: temp }));
      await rename(temp, out);
    } finally {
      await rm(temp, { force: true });
    }
    written.push(out);
    onProgress({ stage: 'hdtf', done: i + 1, total: clips.length });
  }
  return { written, missing };
}
