import { join } from 'node:path';
import {
  DEFAULT_PROPAGATION,
  encodePng,
  FrameStore,
  ModelCorrespondence,
  renderWindowSegment,
  sheetPicks,
  sourceFrame,
  workLayout,
  type EditedReference,
  type FrameStats,
  type RenderedWindow,
  type RgbFrame,
} from '@streamedit/pipeline';
import type { RenderWindowContext, RenderWindowResult } from '../jobs/stages';
import { downloadFolder } from './artifacts';
import { downloadPng } from './job-edit';

/** Files of a rendered window under `windows/{i}/`. */
export const WINDOW_FILES = {
  /** Its frames, H.264 at the source frame rate, no audio. */
  video: 'video.mp4',
  /** Their σ heat maps, same encoding. */
  sigma: 'sigma.mp4',
  /** {@link WindowStats}; stored last, so a window with stats is complete. */
  stats: 'stats.json',
  /** A contact-sheet column: frame t as it was, as edited, its σ. */
  sheet: (t: number, row: 'original' | 'edited' | 'sigma') => `sheet-${t}-${row}.png`,
} as const;

/** What a window's render leaves for the mux stage's report. */
export interface WindowStats {
  readonly index: number;
  readonly reference: number;
  readonly start: number;
  readonly end: number;
  readonly perFrame: readonly FrameStats[];
  /** Frames with a contact-sheet column. */
  readonly sheet: readonly number[];
}

/**
 * render: render window i (an ARR window, or a chunk of a long one) → `windows/{i}/` ({@link WINDOW_FILES}), from
 * the edited reference of its ARR window that the train stage stored: render windows need nothing from each other,
 * so they run in any order, in parallel. Propagation is the same code as the embedded `editVideo`.
 */
export async function renderStage(ctx: RenderWindowContext): Promise<RenderWindowResult> {
  const dirs = workLayout(ctx.workDir);
  for (const folder of ['frames', 'landmarks', 'features'] as const) await downloadFolder(ctx, folder, dirs[folder]);
  const onnx = join(dirs.model, 'model.onnx');
  await ctx.store.downloadToFile(ctx.keys.model, onnx);
  // The output is rendered at the source size: the upload is decoded again, as a stream, beside the frames.
  const input = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, input);
  const frames = await FrameStore.open(dirs.frames);
  try {
    const correspondence = await ModelCorrespondence.open(ctx.workDir, onnx, { inWorker: true });
    try {
      return await renderWindow(ctx, frames, correspondence, input);
    } finally {
      await correspondence.close();
    }
  } finally {
    frames.close();
  }
}

async function renderWindow(
  ctx: RenderWindowContext,
  frames: FrameStore,
  correspondence: ModelCorrespondence,
  input: string,
): Promise<RenderWindowResult> {
  const { window } = ctx;
  const frameAt = (i: number) => frames.read(i);
  const reference: EditedReference = {
    index: window.reference,
    original: await frameAt(window.reference),
    edited: await downloadPng(ctx, ctx.keys.editedReference(window.reference), join(ctx.workDir, 'reference.png')),
    source: {
      original: await sourceFrame(input, window.reference),
      edited: await downloadPng(
        ctx,
        ctx.keys.sourceReference(window.reference),
        join(ctx.workDir, 'reference-source.png'),
      ),
    },
  };
  const propagation = DEFAULT_PROPAGATION;
  const rendered = await renderWindowSegment(
    {
      frames,
      correspondence,
      window,
      index: window.index,
      reference,
      propagation,
      outDir: join(ctx.workDir, 'window'),
      sigma: true,
      sheetPicks: sheetPicks(ctx.job.windows ?? [window], frames.count),
      source: input,
      signal: ctx.signal,
    },
    ctx.progress,
  );
  await storeWindow(ctx, rendered);
  return { frames: rendered.perFrame.length };
}

/** Stores a rendered window under `windows/{i}/`, its stats last (they mark the window complete). */
async function storeWindow(ctx: RenderWindowContext, rendered: RenderedWindow): Promise<void> {
  const { window } = ctx;
  const key = (name: string) => ctx.keys.windowFile(window.index, name);
  const png = (name: string, frame: RgbFrame) =>
    ctx.store.putBuffer(key(name), encodePng(frame), { contentType: 'image/png', signal: ctx.signal });
  const video = { contentType: 'video/mp4', signal: ctx.signal };
  await ctx.store.putFile(key(WINDOW_FILES.video), rendered.video, video);
  await ctx.store.putFile(key(WINDOW_FILES.sigma), rendered.sigma!, video);
  for (const e of rendered.sheet) {
    for (const row of ['original', 'edited', 'sigma'] as const) await png(WINDOW_FILES.sheet(e.index, row), e[row]);
  }
  const stats: WindowStats = { ...window, perFrame: rendered.perFrame, sheet: rendered.sheet.map((e) => e.index) };
  await ctx.store.putBuffer(key(WINDOW_FILES.stats), JSON.stringify(stats), {
    contentType: 'application/json',
    signal: ctx.signal,
  });
}
