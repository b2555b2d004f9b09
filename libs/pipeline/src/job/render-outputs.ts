import type { ReferenceWindow } from '../arr/reference-windows';
import type { RgbFrame } from '../image/frame';
import { contactSheet, heatmap } from '../image/heatmap';
import { resampleFloat, resampleRgb } from '../image/resample';
import { encodeVideo } from '../media/encode';
import { FrameStore, type FrameStoreWriter } from '../media/frame-store';
import type { PropagatedFrame } from './propagate';

/** What the report says of one rendered frame. */
export interface FrameStats {
  /** Mean σ against its window's reference (0 for a reference frame). */
  readonly meanSigma: number;
  /** Fraction of pixels re-synthesised. */
  readonly synthesized: number;
}

/** One column of the contact sheet: a frame as it was, as edited, and its σ heat map. */
export interface SheetEntry {
  readonly index: number;
  readonly original: RgbFrame;
  readonly edited: RgbFrame;
  readonly sigma: RgbFrame;
}

/** The frames a contact sheet shows: each window's reference, and a few spread-out frames (6 at most). */
export function sheetPicks(windows: ReadonlyArray<Pick<ReferenceWindow, 'reference'>>, count: number): Set<number> {
  const picks = [...windows.map((w) => w.reference), Math.floor(count / 3), Math.floor((2 * count) / 3), count - 1];
  return new Set(picks.filter((i) => i >= 0 && i < count).slice(0, 6));
}

/** The contact sheet: rows original / edited / σ, one column per entry (in the order given). */
export function renderSheet(entries: readonly SheetEntry[], width: number, height: number): RgbFrame {
  return contactSheet(
    [entries.map((e) => e.original), entries.map((e) => e.edited), entries.map((e) => e.sigma)],
    width,
    height,
  );
}

/** Options of a {@link RenderRecorder}. */
export interface RenderRecorderOptions {
  readonly width: number;
  readonly height: number;
  /** The original frame `i` at working size (read only for the contact sheet's picks). */
  readonly frameAt: (index: number) => Promise<RgbFrame>;
  /** Where σ heat maps go, one per frame (a reference frame gets σ = 0) [none]. */
  readonly sigma?: FrameStoreWriter;
  /** Frames to keep for the contact sheet (`sheetPicks`) [none]. */
  readonly sheetPicks?: ReadonlySet<number>;
}

/**
 * Watches propagated frames on their way to the encoder and keeps what the report and the side outputs need: per
 * frame stats, the σ heat-map video's frames, the contact sheet's entries. Used by the embedded `editVideo` (all
 * windows in one stream) and by the farm's render stage (one window at a time).
 */
export class RenderRecorder {
  readonly perFrame: FrameStats[] = [];
  readonly sheet: SheetEntry[] = [];
  private zeroSigma?: RgbFrame;

  constructor(private readonly options: RenderRecorderOptions) {}

  /** Passes the edited images on, in order, recording each frame first. */
  async *images(frames: AsyncIterable<PropagatedFrame>): AsyncGenerator<RgbFrame> {
    for await (const f of frames) {
      await this.record(f);
      yield f.image;
    }
  }

  private async record(f: PropagatedFrame): Promise<void> {
    this.perFrame.push({ meanSigma: f.sigma ? mean(f.sigma.data) : 0, synthesized: f.synthesized });
    // The σ video shows each delivered pixel's σ (the correspondence's, and the edit's edges it may shift).
    const shown = f.outputSigma ?? f.sigma;
    // The σ video stays at working size: a source-size σ (one per delivered pixel) is averaged down for it.
    const sigma = shown
      ? heatmap(resampleFloat({ ...shown, channels: 1 }, this.options.width, this.options.height))
      : undefined;
    if (this.options.sigma) await this.options.sigma.append(sigma ?? this.zero());
    if (this.options.sheetPicks?.has(f.index)) {
      // The sheet is at working size: a source-size frame is shrunk for it.
      const edited = resampleRgb(f.image, this.options.width, this.options.height);
      this.sheet.push({
        index: f.index,
        original: await this.options.frameAt(f.index),
        edited,
        sigma: sigma ?? edited,
      });
    }
  }

  /** The heat map of σ = 0, made once. */
  private zero(): RgbFrame {
    const { width, height } = this.options;
    this.zeroSigma ??= heatmap({ width, height, data: new Float32Array(width * height) });
    return this.zeroSigma;
  }
}

const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);

/** Finishes a σ heat-map store written by a {@link RenderRecorder} and encodes it as a video at `out` (no audio). */
export async function encodeSigmaVideo(writer: FrameStoreWriter, out: string): Promise<number> {
  await writer.finish();
  const store = await FrameStore.open(writer.dir);
  try {
    return await encodeVideo(store, { out, fps: store.fps, total: store.count });
  } finally {
    store.close();
  }
}
