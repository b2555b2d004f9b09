import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_ARR, type ArrOptions, type ReferenceWindow } from '../arr/reference-windows';
import type { CorrespondencePreset } from '../correspondence/io-spec';
import { resolveEdit, validateEditSpec, type EditSpec, type VideoGeometry } from '../edit/edit-spec';
import type { RgbFrame } from '../image/frame';
import { contactSheet, heatmap } from '../image/heatmap';
import { writePng } from '../image/png';
import { decodeFrames } from '../media/decode';
import { encodeVideo } from '../media/encode';
import { InputError } from '../errors';
import { FrameStore } from '../media/frame-store';
import { probeVideo, workingSize } from '../media/video-info';
import { noProgress, type ProgressListener } from '../progress';
import { settings } from '../settings';
import { analyzeVideo } from './analyze';
import { fitModel } from './fit';
import { ModelCorrespondence } from './model-correspondence';
import { DEFAULT_PROPAGATION, propagateEdit, type PropagationOptions } from './propagate';

/** Options of an end-to-end edit (defaults in brackets). */
export interface EditVideoOptions {
  /** Trainer preset [`cpu`]. */
  readonly preset?: CorrespondencePreset;
  /** Override the preset's iteration count. */
  readonly maxIterations?: number;
  /** Edit only the first N frames [all]. */
  readonly maxFrames?: number;
  readonly maxSide?: number;
  readonly arr?: ArrOptions;
  readonly propagation?: Partial<PropagationOptions>;
  /** JSON report path [none]. */
  readonly report?: string;
  /** σ heat-map video path [none]. */
  readonly uncertaintyOut?: string;
  /** Contact sheet PNG path [none]. */
  readonly contactSheet?: string;
  /** Working directory to use and keep [a temp dir, removed at the end]. */
  readonly workDir?: string;
}

export interface EditReport {
  readonly input: string;
  readonly output: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly edit: Readonly<Record<string, unknown>>;
  readonly windows: readonly ReferenceWindow[];
  readonly iterations: number;
  readonly timingsMs: Readonly<Record<string, number>>;
  /** Per frame: mean σ against its window's reference, and the fraction of pixels re-synthesised. */
  readonly perFrame: ReadonlyArray<{ readonly meanSigma: number; readonly synthesized: number }>;
}

/** Validates the input video and the edit before any expensive work. */
export async function checkEditInput(input: string, edit: EditSpec, maxFrames?: number, maxSide = settings().maxSide): Promise<VideoGeometry> {
  const info = await probeVideo(input);
  const size = workingSize(info, maxSide);
  const geometry: VideoGeometry = {
    frameCount: Math.min(info.frameCount, maxFrames ?? Number.POSITIVE_INFINITY),
    width: size.width,
    height: size.height,
    sourceWidth: info.width,
    sourceHeight: info.height,
  };
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
    const edits = await resolveEdit(edit, geometry, (i) => decodeFrame(input, i, options.maxSide));
    const analysis = await analyzeVideo(input, workDir, { maxFrames: options.maxFrames, maxSide: options.maxSide }, onProgress);
    const frames = await FrameStore.open(join(workDir, 'frames'));
    const t1 = Date.now();
    const fit = await fitModel(
      workDir,
      { preset: options.preset ?? 'cpu', maxIterations: options.maxIterations, keyframes: edits.map((e) => e.at), arr: options.arr ?? DEFAULT_ARR },
      onProgress,
    );
    const t2 = Date.now();
    const correspondence = await ModelCorrespondence.open(workDir, fit.onnxPath);
    const perFrame: { meanSigma: number; synthesized: number }[] = [];
    const sheet = new SheetCollector(fit.windows, analysis.count);
    const sigmaStore = options.uncertaintyOut ? await FrameStore.create(join(workDir, 'sigma'), frames.width, frames.height, frames.fps) : undefined;
    try {
      const propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
      const stream = propagateEdit(
        { frameAt: (i) => frames.read(i), windows: fit.windows, edits: new Map(edits.map((e) => [e.at, e.edited])), correspondence },
        propagation,
        onProgress,
      );
      async function* rendered(): AsyncGenerator<RgbFrame> {
        for await (const f of stream) {
          const meanSigma = f.sigma ? mean(f.sigma.data) : 0;
          perFrame.push({ meanSigma, synthesized: f.synthesized });
          const sigmaImage = f.sigma ? heatmap(f.sigma) : undefined;
          if (sigmaStore) await sigmaStore.append(sigmaImage ?? heatmap({ width: frames.width, height: frames.height, data: new Float32Array(frames.width * frames.height) }));
          await sheet.offer(f.index, () => frames.read(f.index), f.image, sigmaImage);
          yield f.image;
        }
      }
      await encodeVideo(rendered(), { out, fps: frames.fps, audioFrom: input, total: analysis.count, onProgress });
    } finally {
      await correspondence.close();
    }
    const t3 = Date.now();
    if (sigmaStore && options.uncertaintyOut) {
      await sigmaStore.finish();
      const store = await FrameStore.open(join(workDir, 'sigma'));
      await encodeVideo(store, { out: options.uncertaintyOut, fps: frames.fps, total: store.count });
      store.close();
    }
    if (options.contactSheet) await writePng(options.contactSheet, sheet.render(frames.width, frames.height));
    const report: EditReport = {
      input,
      output: out,
      frames: analysis.count,
      width: frames.width,
      height: frames.height,
      fps: frames.fps.num / frames.fps.den,
      edit: describeEdit(edit),
      windows: fit.windows,
      iterations: fit.iterations,
      timingsMs: { ...analysis.timingsMs,  train: t2 - t1, render: t3 - t2, total: Date.now() - t0 },
      perFrame,
    };
    frames.close();
    if (options.report) await writeFile(options.report, JSON.stringify(report, null, 2));
    return report;
  } finally {
    if (!options.workDir) await rm(workDir, { recursive: true, force: true });
  }
}

/** The edit as the report shows it: no file contents, no secrets. */
function describeEdit(edit: EditSpec): Record<string, unknown> {
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

/** One frame at working size, decoded on its own. */
async function decodeFrame(input: string, index: number, maxSide?: number): Promise<RgbFrame> {
  for await (const frame of decodeFrames(input, { start: index, count: 1, maxSide })) return frame;
  throw new InputError(`Frame ${index} of ${input} could not be decoded: check the keyframe index.`);
}

const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);

/** Keeps the frames a contact sheet shows: each window's reference and edit, and a few spread-out frames with σ. */
class SheetCollector {
  private readonly wanted: Set<number>;
  private readonly rows = { original: [] as RgbFrame[], edited: [] as RgbFrame[], sigma: [] as RgbFrame[] };

  constructor(windows: readonly ReferenceWindow[], count: number) {
    const picks = [windows[0]!.reference, ...windows.slice(1).map((w) => w.reference), Math.floor(count / 3), Math.floor((2 * count) / 3), count - 1];
    this.wanted = new Set(picks.filter((i) => i >= 0 && i < count).slice(0, 6));
  }

  async offer(index: number, original: () => Promise<RgbFrame>, edited: RgbFrame, sigma: RgbFrame | undefined): Promise<void> {
    if (!this.wanted.has(index)) return;
    this.rows.original.push(await original());
    this.rows.edited.push(edited);
    this.rows.sigma.push(sigma ?? edited);
  }

  render(width: number, height: number): RgbFrame {
    return contactSheet([this.rows.original, this.rows.edited, this.rows.sigma], width, height);
  }
}
