import { join } from 'node:path';
import { analyzeVideo, checkEditInput, decodeFrame, resolveEdit, sourceFrame, workLayout } from '@streamedit/pipeline';
import { editImageOptions } from '../jobs/job-edit-spec';
import type { AnalyzeResult, StageContext } from '../jobs/stages';
import { phasedProgress, uploadFolder } from './artifacts';
import { downloadEdit, storeEditedKeyframes } from './job-edit';

/** Shares of the analysis steps in its progress (landmarks, in headless Chromium, take the longest). */
const ANALYZE_STEPS = { decode: 1, landmarks: 6, features: 3 } as const;

/**
 * analyze: the upload and the edit → the edited keyframes (`edit/edited-{at}.png`) and the analysis (`frames/`,
 * `landmarks/`, `features/`). The edit is resolved first, from frames decoded on their own, so a keyframe of the
 * wrong size or an unreachable prompt endpoint fails the job (`InputError`, no retry) before minutes of analysis.
 */
export async function analyzeStage(ctx: StageContext): Promise<AnalyzeResult> {
  const input = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, input);
  const spec = await downloadEdit(ctx, join(ctx.workDir, 'edit'));
  const maxFrames = ctx.job.frames ?? undefined;
  const geometry = await checkEditInput(input, spec, maxFrames);
  // The edit is made at the source size (looks applied there, images taken there) and stored at both sizes.
  const edits = await resolveEdit(
    spec,
    geometry,
    { working: (i) => decodeFrame(input, i), source: (i) => sourceFrame(input, i) },
    editImageOptions(ctx.job.edit),
  );
  await storeEditedKeyframes(ctx, edits);
  ctx.signal.throwIfAborted();
  const analysis = await analyzeVideo(
    input,
    ctx.workDir,
    { maxFrames },
    phasedProgress(ctx.progress, 'analyze', ANALYZE_STEPS),
  );
  ctx.signal.throwIfAborted();
  const dirs = workLayout(ctx.workDir);
  let bytes = 0;
  for (const folder of ['frames', 'landmarks', 'features'] as const)
    bytes += await uploadFolder(ctx, folder, dirs[folder]);
  ctx.log.info(
    { frames: analysis.count, facesFound: analysis.facesFound, bytes, timingsMs: analysis.timingsMs },
    'analysis stored',
  );
  return { frames: analysis.count, width: analysis.width, height: analysis.height };
}
