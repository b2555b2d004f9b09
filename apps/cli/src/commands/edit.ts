import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_ARR, editVideo, InputError, loadAnalysis, REPO_ROOT } from '@streamedit/pipeline';
import { progressBars } from '../progress';
import { action, printJson } from '../run-command';
import { addEditOptions, editSpecFrom, type EditFlags } from './edit-options';
import { parseCount, parsePreset, parseSynthesis, synthesisOption } from './options';

/** The sample clip `--sample` edits (the shared test footage beside the checkout; never shipped in the product). */
export const SAMPLE_CLIP = resolve(REPO_ROOT, '../shared/data/videos/may_theresa_5s_512.mp4');

interface EditOptions extends EditFlags {
  sample?: boolean;
  output: string;
  report?: string;
  uncertainty?: string;
  contactSheet?: string;
  preset: string;
  iterations?: string;
  frames?: string;
  synthesis: string;
  json?: boolean;
  progress: boolean;
  workDir?: string;
  reuse?: boolean;
  upscaleKeyframe?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('edit')
    .description('edit one keyframe, propagate the edit to every frame of the video')
    .argument('[file]', 'the video to edit')
    .option('--sample', `edit the sample clip (${SAMPLE_CLIP})`)
    .option(
      '--upscale-keyframe',
      'accept a keyframe / overlay at the working size (STREAMEDIT_MAX_SIDE) and upscale it; otherwise images are at the video size',
    );
  addEditOptions(cmd)
    .requiredOption('-o, --output <mp4>', 'the edited video')
    .option('--report <json>', 'write a JSON report (windows, iterations, timings, per-frame σ)')
    .option(
      '--uncertainty <mp4>',
      "write each output pixel's σ (correspondence + where the flow may shift the edit) as a second video",
    )
    .option('--contact-sheet <png>', 'write a contact sheet (frames, edits, σ)')
    .addOption(new Option('--preset <name>', 'trainer preset').choices(['cpu', 'paper', 'tiny']).default('cpu'))
    .option('--iterations <n>', "override the preset's training iterations")
    .option('--frames <n>', 'edit only the first N frames')
    .addOption(synthesisOption())
    .option('--work-dir <dir>', 'keep intermediate artifacts here')
    .option('--reuse', 'with --work-dir: reuse its analysis and model when they match (another edit, no retraining)')
    .option('--json', 'print the report as JSON on stdout')
    .option('--no-progress', 'no progress bars')
    .action(
      action(async (file: string | undefined, o: EditOptions) => {
        const input = o.sample ? SAMPLE_CLIP : file;
        if (!input) throw new InputError('Name the video to edit (streamedit edit FILE …) or pass --sample.');
        const spec = editSpecFrom(o);
        if (o.reuse && !o.workDir)
          throw new InputError('--reuse needs --work-dir DIR (the folder of an earlier edit of this video).');
        const maxFrames = o.frames ? parseCount(o.frames, '--frames', 1) : undefined;
        // An explicit --reuse never re-analyses silently (that would discard the work dir's models).
        if (o.reuse && !(await loadAnalysis(resolve(o.workDir!), resolve(input), maxFrames)))
          throw new InputError(
            `--reuse: ${o.workDir} holds no analysis of ${input} over these frames; run once without --reuse.`,
          );
        const bars = progressBars(o.progress && !o.json);
        try {
          const output = resolve(o.output);
          const contactSheet = o.contactSheet ?? output.replace(/\.mp4$/i, '') + '.contact.png';
          const report = await editVideo(
            resolve(input),
            spec,
            output,
            {
              preset: parsePreset(o.preset),
              maxIterations: o.iterations ? parseCount(o.iterations, '--iterations', 1) : undefined,
              maxFrames,
              arr: DEFAULT_ARR,
              propagation: { synthesis: parseSynthesis(o.synthesis) },
              report: o.report ? resolve(o.report) : undefined,
              uncertaintyOut: o.uncertainty ? resolve(o.uncertainty) : undefined,
              contactSheet,
              workDir: o.workDir ? resolve(o.workDir) : undefined,
              reuse: o.reuse,
              upscaleKeyframe: o.upscaleKeyframe,
            },
            bars.listener,
          );
          bars.stop();
          if (o.json) printJson(report);
          else
            process.stderr.write(
              `wrote ${output} (${report.width}×${report.height}, working size ${report.working.width}×${report.working.height}, ${report.frames} frames, ${report.windows.length} reference window(s), ${(report.timingsMs.total! / 1000).toFixed(1)} s)\n`,
            );
        } finally {
          bars.stop();
        }
      }),
    );
}
