import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeEdit,
  editSummary,
  encodePng,
  muxSegments,
  probeVideo,
  renderSheet,
  type FrameStoreMeta,
  type SheetEntry,
} from '@streamedit/pipeline';
import type { MuxContext, MuxResult } from '../jobs/stages';
import { downloadPng, toEditSpec } from './job-edit';
import { WINDOW_FILES, type WindowStats } from './render-stage';
import type { TrainingRecord } from './train-stage';

/**
 * mux: the windows' segments → `output.mp4` (joined without re-encoding, with the source's audio),
 * `uncertainty.mp4` (the σ segments joined) and `contact-sheet.png`; returns the report's body (the farm adds the
 * job's id, windows and timings): frames, size, fps, the ARR windows with their causes, iterations, per-frame σ.
 */
export async function muxStage(ctx: MuxContext): Promise<MuxResult> {
  const input = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, input);
  const windows = await fetchWindows(ctx, join(ctx.workDir, 'windows'));
  ctx.signal.throwIfAborted();
  const output = join(ctx.workDir, 'output.mp4');
  const uncertainty = join(ctx.workDir, 'uncertainty.mp4');
  await muxSegments(windows.segments, output, { audioFrom: input, uncertaintyOut: uncertainty });
  await ctx.store.putFile(ctx.keys.output, output, { contentType: 'video/mp4', signal: ctx.signal });
  await ctx.store.putFile(ctx.keys.uncertainty, uncertainty, { contentType: 'video/mp4', signal: ctx.signal });
  const meta = await readJson<FrameStoreMeta>(ctx, ctx.keys.file('frames', 'frames.json'));
  if (windows.sheet.length > 0) {
    const sheet = encodePng(renderSheet(windows.sheet, meta.width, meta.height));
    await ctx.store.putBuffer(ctx.keys.contactSheet, sheet, { contentType: 'image/png', signal: ctx.signal });
  }
  const training = await readJson<TrainingRecord>(ctx, ctx.keys.training);
  const edit = describeEdit(toEditSpec(ctx.job.edit, (key) => key));
  // The output's own size (the source's): the report gives it beside the working size of the frames.
  const out = await probeVideo(output);
  const summary = editSummary(
    meta,
    edit,
    training,
    windows.stats.map((s) => s.perFrame),
    { width: out.width, height: out.height },
  );
  ctx.progress({ stage: 'mux', done: 1, total: 1 });
  const { preset, history, restoredFrom, resumedAt } = training;
  return {
    report: {
      ...summary,
      // The farm's `windows` (render windows) replace the summary's; the ARR windows keep their causes here.
      referenceWindows: summary.windows,
      training: { preset, history, restoredFrom, resumedAt },
      contactSheet: windows.sheet.length > 0,
    },
  };
}

/** Every window's segments (downloaded into `dir`), stats and contact-sheet columns, in window order. */
async function fetchWindows(ctx: MuxContext, dir: string) {
  await mkdir(dir, { recursive: true });
  const stats: WindowStats[] = [];
  const segments: Array<{ video: string; sigma: string }> = [];
  const sheet: SheetEntry[] = [];
  for (const w of ctx.windows) {
    const get = async (name: string) => {
      const path = join(dir, `${w.index}-${name}`);
      await ctx.store.downloadToFile(ctx.keys.windowFile(w.index, name), path);
      return path;
    };
    const s = await readJson<WindowStats>(ctx, ctx.keys.windowFile(w.index, WINDOW_FILES.stats));
    stats.push(s);
    segments.push({ video: await get(WINDOW_FILES.video), sigma: await get(WINDOW_FILES.sigma) });
    for (const t of s.sheet) sheet.push(await sheetEntry(ctx, w.index, t, dir));
    // Downloads are most of the time before the joins (which only copy streams).
    ctx.progress({ stage: 'mux', done: w.index + 1, total: ctx.windows.length + 1 });
  }
  return { stats, segments, sheet };
}

async function sheetEntry(ctx: MuxContext, window: number, t: number, dir: string): Promise<SheetEntry> {
  const row = (r: 'original' | 'edited' | 'sigma') =>
    downloadPng(ctx, ctx.keys.windowFile(window, WINDOW_FILES.sheet(t, r)), join(dir, `${window}-${t}-${r}.png`));
  return { index: t, original: await row('original'), edited: await row('edited'), sigma: await row('sigma') };
}

async function readJson<T>(ctx: MuxContext, key: string): Promise<T> {
  return JSON.parse((await ctx.store.getBuffer(key)).toString('utf8')) as T;
}
