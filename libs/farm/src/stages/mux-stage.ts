import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeEdit,
  editSummary,
  encodePng,
  muxSegments,
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
  const dir = join(ctx.workDir, 'windows');
  await mkdir(dir, { recursive: true });
  const input = join(ctx.workDir, 'input');
  await ctx.store.downloadToFile(ctx.keys.input, input);
  const stats: WindowStats[] = [];
  const segments: Array<{ video: string; sigma: string }> = [];
  const sheet: SheetEntry[] = [];
  for (const w of ctx.windows) {
    const get = async (name: string) => {
      const path = join(dir, `${w.index}-${name}`);
      await ctx.store.downloadToFile(ctx.keys.windowFile(w.index, name), path);
      return path;
    };
    const s = JSON.parse((await ctx.store.getBuffer(ctx.keys.windowFile(w.index, WINDOW_FILES.stats))).toString('utf8')) as WindowStats;
    stats.push(s);
    segments.push({ video: await get(WINDOW_FILES.video), sigma: await get(WINDOW_FILES.sigma) });
    for (const t of s.sheet) sheet.push(await sheetEntry(ctx, w.index, t, dir));
    ctx.progress({ stage: 'mux', done: w.index + 1, total: ctx.windows.length + 1 });
  }
  ctx.signal.throwIfAborted();
  const output = join(ctx.workDir, 'output.mp4');
  const uncertainty = join(ctx.workDir, 'uncertainty.mp4');
  await muxSegments(segments, output, { audioFrom: input, uncertaintyOut: uncertainty });
  await ctx.store.putFile(ctx.keys.output, output, { contentType: 'video/mp4', signal: ctx.signal });
  await ctx.store.putFile(ctx.keys.uncertainty, uncertainty, { contentType: 'video/mp4', signal: ctx.signal });
  const meta = await readJson<FrameStoreMeta>(ctx, ctx.keys.file('frames', 'frames.json'));
  if (sheet.length > 0) {
    await ctx.store.putBuffer(ctx.keys.contactSheet, encodePng(renderSheet(sheet, meta.width, meta.height)), { contentType: 'image/png' });
  }
  const training = await readJson<TrainingRecord>(ctx, ctx.keys.training);
  const summary = editSummary(
    meta,
    describeEdit(toEditSpec(ctx.job.edit, (key) => key)),
    training,
    stats.map((s) => s.perFrame),
  );
  ctx.progress({ stage: 'mux', done: ctx.windows.length + 1, total: ctx.windows.length + 1 });
  return {
    report: {
      ...summary,
      // The farm's `windows` (render windows) replace the summary's; the ARR windows keep their causes here.
      referenceWindows: summary.windows,
      training: { preset: training.preset, history: training.history, restoredFrom: training.restoredFrom, resumedAt: training.resumedAt },
      contactSheet: sheet.length > 0,
    },
  };
}

async function sheetEntry(ctx: MuxContext, window: number, t: number, dir: string): Promise<SheetEntry> {
  const row = (r: 'original' | 'edited' | 'sigma') =>
    downloadPng(ctx, ctx.keys.windowFile(window, WINDOW_FILES.sheet(t, r)), join(dir, `${window}-${t}-${r}.png`));
  return { index: t, original: await row('original'), edited: await row('edited'), sigma: await row('sigma') };
}

async function readJson<T>(ctx: MuxContext, key: string): Promise<T> {
  return JSON.parse((await ctx.store.getBuffer(key)).toString('utf8')) as T;
}
