import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_ARR, type ArrOptions } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { resolveEdit, validateEditSpec, type EditSpec, type VideoGeometry } from '../edit/edit-spec';
import type { RgbFrame } from '../image/frame';
import { writePng } from '../image/png';
import { decodeFrames } from '../media/decode';
import { InputError } from '../errors';
import { FrameStore } from '../media/frame-store';
import { oversizeProblem } from '../media/source-limit';
import { probeVideo, workingSize, type VideoInfo } from '../media/video-info';
import { sourceFrame, sourceSize } from './source-frames';
import { noProgress, type ProgressListener } from '../progress';
import { settings } from '../settings';
import { analyzeVideo, loadAnalysis } from './analyze';
import { fitDirName, fitModel, loadFit } from './fit';
import { ModelCorrespondence } from './model-correspondence';
import { workLayout } from './work-dir';
import { DEFAULT_PROPAGATION, windowReferences, type EditedReference, type PropagationOptions } from './propagate';
import { renderSheet, sheetPicks } from './render-outputs';
import { editSummary, muxSegments, renderWindowSegment, type EditSummary, type RenderedWindow } from './render-window';

/** Options of an end-to-end edit (defaults in brackets). */
export interface EditVideoOptions {
  /** Trainer preset [`cpu`]. */
  readonly preset?: CorrespondencePreset;
  /** Override the preset's iteration count. */
  readonly maxIterations?: number;
  /** Edit only the first N frames [all]. */
  readonly maxFrames?: number;
  /** Longer side of the working size [`settings().maxSide`]; the output is always at the source size. */
  readonly maxSide?: number;
  /** Accept a working-size keyframe / overlay and upscale it (otherwise images must be at the source size) [false]. */
  readonly upscaleKeyframe?: boolean;
  /** ARR parameters [DEFAULT_ARR]; `false` = one reference per keyframe, no replacement. */
  readonly arr?: ArrOptions | false;
  readonly propagation?: Partial<PropagationOptions>;
  /** JSON report path [none]. */
  readonly report?: string;
  /** σ heat-map video path [none]. */
  readonly uncertaintyOut?: string;
  /** Contact sheet PNG path [none]. */
  readonly contactSheet?: string;
  /** Working directory to use and keep [a temp dir, removed at the end]. */
  readonly workDir?: string;
  /**
   * Reuse an analysis and a fit already in `workDir` (same video, frames, preset and iterations, and a reference at
   * every keyframe): another edit of the same video without retraining, or a benchmark [false].
   */
  readonly reuse?: boolean;
}

/** The report of an embedded edit: the common summary plus where it read and wrote, and how long each step took. */
export interface EditReport extends EditSummary {
  readonly input: string;
  readonly output: string;
  readonly timingsMs: Readonly<Record<string, number>>;
}

/**
 * THE geometry of an edit of `info` (CLI, farm workers and the API's upload checks alike): the working size the
 * correspondence is computed at (`maxSide`), the source size the output and the edit images have (displayed
 * orientation, even sides), the frames edited. A source above `MAX_SOURCE` is an `InputError`.
 * @param maxSide longer side of the working size. Default `settings().maxSide`.
 */
export function videoGeometry(
  info: Pick<VideoInfo, 'path' | 'width' | 'height' | 'rotation' | 'frameCount'>,
  maxFrames?: number | null,
  maxSide = settings().maxSide,
): VideoGeometry {
  const size = workingSize(info, maxSide);
  const source = sourceSize(info);
  const oversize = oversizeProblem('The video', source);
  if (oversize) throw new InputError(oversize);
  return {
    frameCount: Math.min(info.frameCount, maxFrames ?? Number.POSITIVE_INFINITY),
    width: size.width,
    height: size.height,
    sourceWidth: source.width,
    sourceHeight: source.height,
  };
}

/** Validates the input video and the edit before any expensive work. */
export async function checkEditInput(
  input: string,
  edit: EditSpec,
  maxFrames?: number,
  maxSide = settings().maxSide,
): Promise<VideoGeometry> {
  const geometry = videoGeometry(await probeVideo(input), maxFrames, maxSide);
  validateEditSpec(edit, geometry);
  return geometry;
}

/**
 * `streamedit edit`: analyse → fit the correspondence model with ARR → propagate the edit window by window →
 * encode (source fps and audio kept), plus the report, the σ video and a contact sheet when asked for.
 */
export async function editVideo(
  input: string,
  edit: EditSpec,
  out: string,
  options: EditVideoOptions = {},
  onProgress: ProgressListener = noProgress,
): Promise<EditReport> {
  const geometry = await checkEditInput(input, edit, options.maxFrames, options.maxSide);
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'streamedit-')));
  await mkdir(dirname(out), { recursive: true });
  const t0 = Date.now();
  try {
    // The edit is built before the analysis, so a bad keyframe, overlay or endpoint fails in seconds.
    const edits = await resolveEdit(
      edit,
      geometry,
      { working: (i) => decodeFrame(input, i, options.maxSide), source: (i) => sourceFrame(input, i) },
      { upscaleKeyframe: options.upscaleKeyframe },
    );
    const analysis =
      (options.reuse ? await loadAnalysis(workDir, input, options.maxFrames) : undefined) ??
      (await analyzeVideo(input, workDir, { maxFrames: options.maxFrames, maxSide: options.maxSide }, onProgress));
    const frames = await FrameStore.open(join(workDir, 'frames'));
    const t1 = Date.now();
    const arr = options.arr === false ? undefined : (options.arr ?? DEFAULT_ARR);
    const modelDir = fitDirName(arr !== undefined, false);
    const reused = options.reuse
      ? await loadFit(join(workDir, modelDir), analysis.count, options.preset ?? 'cpu', options.maxIterations)
      : undefined;
    // A fit is reusable when every keyframe of this edit is one of its references (keyframes force references).
    const fitsEdit =
      reused &&
      edits.every((e) => reused.windows.some((w) => w.reference === e.at)) &&
      reused.windows[0]?.reference === edits[0]?.at;
    const fit = fitsEdit
      ? reused
      : await fitModel(
          workDir,
          {
            preset: options.preset ?? 'cpu',
            maxIterations: options.maxIterations,
            keyframes: edits.map((e) => e.at),
            arr,
            modelDir,
          },
          onProgress,
        );
    const t2 = Date.now();
    const correspondence = await ModelCorrespondence.open(workDir, fit.onnxPath, { inWorker: true });
    const picks = sheetPicks(fit.windows, analysis.count);
    const rendered: RenderedWindow[] = [];
    try {
      const source = {
        frameAt: (i: number) => frames.read(i),
        edits: new Map(edits.map((e) => [e.at, e.edited])),
        correspondence,
        sourceFrameAt: (i: number) => sourceFrame(input, i),
        sourceEdits: new Map(edits.map((e) => [e.at, e.source!.edited])),
      };
      const propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
      let index = 0;
      for await (const reference of windowReferences(source, fit.windows, propagation)) {
        const window = fit.windows[index]!;
        // A kept work dir is what a live session starts from (stream/live-source.ts): it needs every edited reference.
        if (options.workDir) await writeEditedReference(workDir, index, reference);
        const outDir = join(workDir, 'windows', String(index));
        const sigma = options.uncertaintyOut !== undefined;
        const request = {
          frames,
          correspondence,
          window,
          index,
          reference,
          propagation,
          outDir,
          sigma,
          sheetPicks: picks,
          source: input,
        };
        rendered.push(
          await renderWindowSegment(request, (e) =>
            onProgress({ ...e, done: window.start + e.done, total: analysis.count }),
          ),
        );
        index++;
      }
    } finally {
      await correspondence.close();
    }
    await muxSegments(rendered, out, { audioFrom: input, uncertaintyOut: options.uncertaintyOut });
    const t3 = Date.now();
    if (options.contactSheet)
      await writePng(
        options.contactSheet,
        renderSheet(
          rendered.flatMap((r) => r.sheet),
          frames.width,
          frames.height,
        ),
      );
    const summary = editSummary(
      frames,
      describeEdit(edit),
      fit,
      rendered.map((r) => r.perFrame),
      { width: geometry.sourceWidth, height: geometry.sourceHeight },
    );
    const report: EditReport = {
      input,
      output: out,
      ...summary,
      timingsMs: { ...analysis.timingsMs, train: t2 - t1, render: t3 - t2, total: Date.now() - t0 },
    };
    frames.close();
    if (options.report) await writeFile(options.report, JSON.stringify(report, null, 2));
    return report;
  } finally {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** The edit as the report shows it: no file contents, no secrets. */
export function describeEdit(edit: EditSpec): Record<string, unknown> {
  switch (edit.kind) {
    case 'keyframes':
      return { kind: edit.kind, keyframes: edit.keyframes.map((k) => k.at) };
    case 'look':
      return { kind: edit.kind, look: edit.name, at: edit.at ?? 0 };
    case 'overlay':
      return { kind: edit.kind, at: edit.at ?? 0 };
    case 'prompt':
      return { kind: edit.kind, prompt: edit.text, at: edit.at ?? 0 };
  }
}

/**
 * Writes window `index`'s edited reference as `edits/ref-<index>.png` in the work dir, and its source-size edit (when
 * it has one) as `edits/ref-<index>-source.png`.
 */
export async function writeEditedReference(
  workDir: string,
  index: number,
  reference: Pick<EditedReference, 'edited' | 'source'>,
): Promise<void> {
  const dir = workLayout(workDir).edits;
  await mkdir(dir, { recursive: true });
  await writePng(join(dir, `ref-${index}.png`), reference.edited);
  if (reference.source) await writePng(join(dir, `ref-${index}-source.png`), reference.source.edited);
}

/** One frame at working size, decoded on its own (e.g. a keyframe to edit before the analysis). */
export async function decodeFrame(input: string, index: number, maxSide?: number): Promise<RgbFrame> {
  for await (const frame of decodeFrames(input, { start: index, count: 1, maxSide })) return frame;
  throw new InputError(`Frame ${index} of ${input} could not be decoded: check the keyframe index.`);
}
