import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReferenceWindow } from '../arr/reference-windows';
import { concatVideos } from '../media/concat';
import { encodeVideo } from '../media/encode';
import { FrameStore, type FrameStoreMeta } from '../media/frame-store';
import type { VideoInfo } from '../media/video-info';
import { SequentialSourceFrames } from './source-frames';
import { noProgress, type ProgressListener } from '../progress';
import {
  DEFAULT_PROPAGATION,
  propagateWindow,
  type CorrespondenceSource,
  type EditedReference,
  type PropagatedFrame,
  type PropagationOptions,
} from './propagate';
import { encodeSigmaVideo, RenderRecorder, type FrameStats, type SheetEntry } from './render-outputs';

/** What one window needs to render once its edited reference is known. */
export interface RenderWindowRequest {
  /** The analysed frames (working size). */
  readonly frames: FrameStore;
  readonly correspondence: CorrespondenceSource;
  readonly window: Pick<ReferenceWindow, 'start' | 'end'>;
  /** The window's position in the ARR windows. */
  readonly index: number;
  readonly reference: EditedReference;
  /** Default `DEFAULT_PROPAGATION`. */
  readonly propagation?: PropagationOptions;
  /** Folder that receives `video.mp4` and, with `sigma`, `sigma.mp4` (created if needed). */
  readonly outDir: string;
  /** Also encode the σ heat maps as `sigma.mp4`. Default false. */
  readonly sigma?: boolean;
  /** Frames of this window to keep for the contact sheet. Default none. */
  readonly sheetPicks?: ReadonlySet<number>;
  /**
   * The source video: the window is rendered at its size (decoded as a stream alongside the working-size frames;
   * `reference.source` must be set). Without it the window is rendered at the working size.
   */
  readonly source?: string | VideoInfo;
  /** Stops between frames (the encode is abandoned, nothing is left at the outputs). */
  readonly signal?: AbortSignal;
}

/** One rendered window: its H.264 segment (no audio), its σ segment, and what the report needs. */
export interface RenderedWindow {
  readonly index: number;
  readonly video: string;
  readonly sigma?: string;
  readonly perFrame: readonly FrameStats[];
  readonly sheet: readonly SheetEntry[];
}

/**
 * Renders one ARR window as a video segment: propagates the window's edited reference to its frames and encodes
 * them (source frame rate, no audio; `muxSegments` joins the segments and adds the audio). Progress: stage
 * `render`, frames of this window. The embedded `editVideo` and the farm's render stage both render this way.
 */
export async function renderWindowSegment(
  request: RenderWindowRequest,
  onProgress: ProgressListener = noProgress,
): Promise<RenderedWindow> {
  const { frames, window, outDir } = request;
  await mkdir(outDir, { recursive: true });
  const sigmaDir = join(outDir, 'sigma-frames');
  const sigmaStore = request.sigma
    ? await FrameStore.create(sigmaDir, frames.width, frames.height, frames.fps)
    : undefined;
  const recorder = new RenderRecorder({
    width: frames.width,
    height: frames.height,
    frameAt: (i) => frames.read(i),
    sigma: sigmaStore,
    sheetPicks: request.sheetPicks,
  });
  const video = join(outDir, 'video.mp4');
  const sigma = sigmaStore ? join(outDir, 'sigma.mp4') : undefined;
  if (request.source && !request.reference.source)
    throw new RangeError(`window ${request.index}: a source-size render needs the reference's source-size edit`);
  const full = request.source
    ? new SequentialSourceFrames(request.source, window.start, window.end - window.start)
    : undefined;
  try {
    const stream = propagateWindow(
      {
        frameAt: (i) => frames.read(i),
        correspondence: request.correspondence,
        sourceFrameAt: full ? (i) => full.at(i) : undefined,
      },
      window,
      request.index,
      request.reference,
      request.propagation ?? DEFAULT_PROPAGATION,
    );
    const total = window.end - window.start;
    await encodeVideo(recorder.images(counted(stream, total, onProgress, request.signal)), {
      out: video,
      fps: frames.fps,
      total,
    });
    if (sigmaStore && sigma) await encodeSigmaVideo(sigmaStore, sigma);
  } catch (err) {
    await sigmaStore?.abort();
    throw err;
  } finally {
    await full?.close();
    await rm(sigmaDir, { recursive: true, force: true });
  }
  return { index: request.index, video, sigma, perFrame: recorder.perFrame, sheet: recorder.sheet };
}

/** Reports each frame and stops between frames once `signal` fires. */
async function* counted(
  frames: AsyncIterable<PropagatedFrame>,
  total: number,
  onProgress: ProgressListener,
  signal: AbortSignal | undefined,
): AsyncGenerator<PropagatedFrame> {
  let done = 0;
  for await (const frame of frames) {
    signal?.throwIfAborted();
    yield frame;
    onProgress({ stage: 'render', done: ++done, total });
  }
}

/** Options of {@link muxSegments}. */
export interface MuxSegmentsOptions {
  /** The source video: its audio (if any) goes into the output. */
  readonly audioFrom?: string;
  /** Where the σ segments, joined, go [not written]. */
  readonly uncertaintyOut?: string;
}

/**
 * Joins the windows' segments, in window order, into the edited video (losslessly: no re-encode) with the source's
 * audio, and their σ segments into the uncertainty video when asked for.
 */
export async function muxSegments(
  windows: ReadonlyArray<Pick<RenderedWindow, 'video' | 'sigma'>>,
  out: string,
  options: MuxSegmentsOptions = {},
): Promise<void> {
  await concatVideos(
    windows.map((w) => w.video),
    out,
    { audioFrom: options.audioFrom },
  );
  if (options.uncertaintyOut) {
    const sigma = windows.map((w, i) => {
      if (!w.sigma) throw new RangeError(`window ${i} was rendered without its σ segment`);
      return w.sigma;
    });
    await concatVideos(sigma, options.uncertaintyOut);
  }
}

/** What an edit's report says regardless of where it ran (embedded or on the farm). */
export interface EditSummary {
  readonly frames: number;
  /** Size of the output (the source's, or the working size for a working-size render). */
  readonly width: number;
  readonly height: number;
  /** The working size the correspondence was computed at (`STREAMEDIT_MAX_SIDE`). */
  readonly working: { readonly width: number; readonly height: number };
  /** Frames per second of the output (the source's). */
  readonly fps: number;
  readonly edit: Readonly<Record<string, unknown>>;
  readonly windows: readonly ReferenceWindow[];
  readonly iterations: number;
  /** Per frame, in frame order. */
  readonly perFrame: readonly FrameStats[];
}

/** The report's common part, from the frames' metadata, the fit and the windows' per-frame stats (in window order). */
export function editSummary(
  meta: Pick<FrameStoreMeta, 'count' | 'width' | 'height' | 'fps'>,
  edit: Readonly<Record<string, unknown>>,
  fit: { readonly windows: readonly ReferenceWindow[]; readonly iterations: number },
  perWindow: ReadonlyArray<readonly FrameStats[]>,
  output: { readonly width: number; readonly height: number } = meta,
): EditSummary {
  return {
    frames: meta.count,
    width: output.width,
    height: output.height,
    working: { width: meta.width, height: meta.height },
    fps: meta.fps.num / meta.fps.den,
    edit,
    windows: fit.windows,
    iterations: fit.iterations,
    perFrame: perWindow.flat(),
  };
}
