import type { Command } from 'commander';
import { probeVideo, workingSize, type VideoInfo } from '@streamedit/pipeline';
import { action, printJson } from '../run-command';

/** The human table of `probe`: one property a line. */
export function formatVideoInfo(info: VideoInfo, working: { width: number; height: number }): string {
  const rows: Array<[string, string]> = [
    ['file', info.path],
    ['codec', `${info.codec} (${info.pixelFormat})`],
    ['size', `${info.width}×${info.height}${info.rotation ? `, rotated ${info.rotation}°` : ''}`],
    ['working size', `${working.width}×${working.height}`],
    ['fps', `${info.fps.num}/${info.fps.den} (${+info.fpsValue.toFixed(3)})`],
    ['frames', String(info.frameCount)],
    ['duration', `${info.duration.toFixed(3)} s`],
    ['audio', info.hasAudio ? 'yes' : 'no'],
  ];
  return rows.map(([k, v]) => `${k.padEnd(13)} ${v}\n`).join('');
}

/** `streamedit probe FILE [--json]`: what the pipeline sees in a video (exact frame count, fps, size, audio). */
export function register(program: Command): void {
  program
    .command('probe')
    .description('show a video’s size, frame rate, exact frame count and audio, as the pipeline reads them')
    .argument('<file>', 'video file')
    .option('--json', 'print JSON (the VideoInfo, plus the working size)')
    .action(
      action(async (file: string, opts: { json?: boolean }) => {
        const info = await probeVideo(file);
        const working = workingSize(info);
        if (opts.json) printJson({ ...info, working });
        else process.stdout.write(formatVideoInfo(info, working));
      }),
    );
}
