import { InputError } from '../errors';

/**
 * The HDTF repository's dataset lists (HDTF_dataset/XX_*.txt):
 * - `XX_annotion_time.txt`: `video.mp4 mm:ss-mm:ss mm:ss-mm:ss …` — clip i of a video is its i-th range;
 * - `XX_crop_wh.txt`: `video_i.mp4 x width y height` — the facial window of clip i (HDTF names the columns
 *   min_width, width, min_height, height);
 * - `XX_video_url.txt`: `video.mp4 url` (sources must be downloaded by the user; nothing is fetched here).
 */
export interface HdtfClip {
  /** Output name, `video_i`. */
  readonly name: string;
  /** Source file name, `video.mp4`. */
  readonly source: string;
  readonly start: number;
  readonly end: number;
  readonly crop?: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
}

/** `mm:ss`, `hh:mm:ss` or seconds → seconds. */
export function parseTimestamp(text: string): number {
  const parts = text.split(':').map(Number);
  if (parts.length === 0 || parts.length > 3 || parts.some((p) => !Number.isFinite(p) || p < 0)) {
    throw new InputError(`"${text}" is not a time stamp: use mm:ss, hh:mm:ss or seconds.`);
  }
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

const lines = (text: string): string[][] => text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => l.split(/\s+/));

/** The clips of an annotation-time list joined with its crop list (a clip without a crop keeps the full frame). */
export function parseHdtfLists(annotationTime: string, cropWh = ''): HdtfClip[] {
  const crops = new Map<string, HdtfClip['crop']>();
  for (const [name, x, w, y, h, ...rest] of lines(cropWh)) {
    const nums = [x, w, y, h].map(Number);
    if (!name || rest.length || nums.some((v) => !Number.isFinite(v) || v < 0)) throw new InputError(`Bad crop line "${[name, x, w, y, h, ...rest].join(' ')}": expected "video_i.mp4 x width y height".`);
    crops.set(name.replace(/\.mp4$/, ''), { x: nums[0]!, width: nums[1]!, y: nums[2]!, height: nums[3]! });
  }
  const clips: HdtfClip[] = [];
  for (const [source, ...ranges] of lines(annotationTime)) {
    if (!source || ranges.length === 0) throw new InputError(`Bad annotation line "${source ?? ''}": expected "video.mp4 mm:ss-mm:ss …".`);
    ranges.forEach((range, i) => {
      const [a, b] = range.split('-');
      if (a === undefined || b === undefined) throw new InputError(`Bad time range "${range}" for ${source}: expected mm:ss-mm:ss.`);
      const start = parseTimestamp(a);
      const end = parseTimestamp(b);
      if (end <= start) throw new InputError(`Time range "${range}" of ${source} ends before it starts.`);
      const name = `${source.replace(/\.mp4$/, '')}_${i}`;
      const crop = crops.get(name);
      clips.push({ name, source: source.endsWith('.mp4') ? source : `${source}.mp4`, start, end, ...(crop ? { crop } : {}) });
    });
  }
  return clips;
}
