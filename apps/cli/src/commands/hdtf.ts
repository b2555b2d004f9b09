import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InputError, prepareHdtf } from '@streamedit/pipeline';
import { progressBars } from '../progress';
import { action, printJson } from '../run-command';
import { parseCount } from './options';

/** `streamedit hdtf prepare`: HDTF lists + the user's downloaded sources → 512² clips. */
export function register(program: Command): void {
  const hdtf = program.command('hdtf').description('HDTF dataset tools');
  hdtf
    .command('prepare')
    .description('cut, crop and resize HDTF clips from the repository lists and your downloaded source videos')
    .requiredOption('--list <file>', 'an HDTF XX_annotion_time.txt (XX_crop_wh.txt is read from beside it)')
    .requiredOption('--sources <dir>', 'folder with the downloaded source videos (video.mp4)')
    .requiredOption('--out <dir>', 'where the clips go (video_i.mp4)')
    .option('--size <n>', 'output side in pixels', '512')
    .option('--json', 'print the result as JSON')
    .action(
      action(async (o: { list: string; sources: string; out: string; size: string; json?: boolean }) => {
        const bars = progressBars(!o.json);
        let result;
        try {
          result = await prepareHdtf(resolve(o.list), resolve(o.sources), resolve(o.out), parseCount(o.size, '--size', 16), bars.listener);
        } finally {
          bars.stop();
        }
        if (o.json) printJson(result);
        else process.stdout.write(`wrote ${result.written.length} clip(s) to ${resolve(o.out)}${result.missing.length ? `; no source for ${result.missing.join(', ')}` : ''}\n`);
        if (result.written.length === 0) throw new InputError(`No clip was written: put the source videos named in ${o.list} into ${o.sources}.`);
      }),
    );
}
