import type { RgbFrame } from '../image/frame';
import { decodeFrames } from '../media/decode';
import { InvalidVideoError } from '../errors';
import { workingSize, type VideoInfo } from '../media/video-info';

/** Decoding at this "longest side" keeps the source size (displayed orientation, sides rounded down to even). */
export const SOURCE_SIZE = Number.POSITIVE_INFINITY;

/** The size the output is rendered at: the source's displayed size, even sides (H.264 yuv420p). */
export function sourceSize(info: Pick<VideoInfo, 'width' | 'height' | 'rotation'>): { width: number; height: number } {
  return workingSize(info, SOURCE_SIZE);
}

/**
 * Frames of a video at the source size, decoded as one stream and read in increasing order: `at(t)` may skip
 * forward but never go back. Only the frame being read is in memory (ffmpeg waits on the pipe meanwhile), so a
 * 4K window costs one 4K frame, not the window.
 */
export class SequentialSourceFrames {
  private readonly it: AsyncGenerator<RgbFrame>;
  private next: number;
  private last?: { index: number; frame: RgbFrame };

  /** Frames `start` … `start + count − 1` of `source` (a path or a probed `VideoInfo`). */
  constructor(
    private readonly source: string | VideoInfo,
    start: number,
    count: number,
  ) {
    this.it = decodeFrames(source, { start, count, maxSide: SOURCE_SIZE });
    this.next = start;
  }

  /** Frame `t` at the source size (the same object again when asked twice in a row). */
  async at(t: number): Promise<RgbFrame> {
    if (this.last?.index === t) return this.last.frame;
    if (t < this.next) throw new RangeError(`source frame ${t} was already passed (next is ${this.next})`);
    for (;;) {
      const r = await this.it.next();
      if (r.done) {
        const path = typeof this.source === 'string' ? this.source : this.source.path;
        throw new InvalidVideoError(`${path} has no frame ${t}: the video is shorter than its analysis.`);
      }
      const index = this.next++;
      if (index === t) {
        this.last = { index, frame: r.value };
        return r.value;
      }
    }
  }

  /** Stops the decoder (kills ffmpeg when frames were left unread). */
  async close(): Promise<void> {
    await this.it.return(undefined);
  }
}

/** One frame at the source size, decoded on its own (a reference or a keyframe). */
export async function sourceFrame(source: string | VideoInfo, index: number): Promise<RgbFrame> {
  for await (const frame of decodeFrames(source, { start: index, count: 1, maxSide: SOURCE_SIZE })) return frame;
  const path = typeof source === 'string' ? source : source.path;
  throw new InvalidVideoError(`Frame ${index} of ${path} could not be decoded: check the keyframe index.`);
}
