/**
 * A phone video (rotation metadata) comes back as the player shows the source: decode → render at the source size
 * → encode → mux, the path the CLI `edit` and the farm's render and mux stages take, on a real rotated clip.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FrameStore,
  createFlow,
  getLook,
  muxSegments,
  probeVideo,
  psnr,
  readPng,
  rgbaToRgb,
  renderWindowSegment,
  sourceFrame,
  videoGeometry,
  writeFrameStore,
  type Correspondence,
  type CorrespondenceSource,
  type RgbFrame,
} from '@streamedit/pipeline';
import { clipPath } from '../support/clips';
import { ffmpegTool, ffprobeJson } from '../support/tools';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orientation-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

/**
 * The exact correspondence of a still clip: every frame is the reference, so the flow is zero and nothing is
 * uncertain (the clip below is one frame held, so this is the truth, not a stand-in for the model).
 */
class StillCorrespondence implements CorrespondenceSource {
  constructor(private readonly size: { readonly width: number; readonly height: number }) {}
  async between(): Promise<Correspondence> {
    const { width, height } = this.size;
    return { flow: createFlow(width, height), sigma: { width, height, data: new Float32Array(width * height) } };
  }
}

/** The size a player shows: ffprobe's stored size, sides swapped for a ±90° display matrix (or `rotate` tag). */
async function displayed(path: string): Promise<{ width: number; height: number; rotation: number }> {
  const v = (await ffprobeJson(path)).streams.find((s) => s.codec_type === 'video')! as Record<string, unknown>;
  const sides = (v.side_data_list ?? []) as Array<{ rotation?: number }>;
  const tags = (v.tags ?? {}) as { rotate?: string };
  const rotation = Number(sides.find((s) => s.rotation !== undefined)?.rotation ?? tags.rotate ?? 0);
  const quarter = Math.abs(rotation) % 180 === 90;
  const [w, h] = [Number(v.width), Number(v.height)];
  return { width: quarter ? h : w, height: quarter ? w : h, rotation };
}

/** Frame 0 as a player shows it, by the ffmpeg CLI itself (its autorotate), not by the pipeline's decoder. */
async function shownFrame(path: string): Promise<RgbFrame> {
  const png = `${path}.frame0.png`;
  await ffmpegTool(['-i', path, '-frames:v', '1', png]);
  return rgbaToRgb(await readPng(png));
}

test('a 90°-rotated phone clip comes back upright at its displayed size (180×320), with its audio', async () => {
  // A landscape-stored 320×180 frame held for 6 frames, tagged rotate=90 (ffmpeg 5's way; ffmpeg ≥ 6 writes the
  // same display matrix with -display_rotation), with 1 s of the source's audio.
  const plain = join(dir, 'plain.mp4');
  const phone = join(dir, 'phone.mp4');
  const s18 = clipPath('s18');
  const still = 'scale=320:180,trim=end_frame=1,loop=loop=5:size=1';
  await ffmpegTool([
    '-i',
    s18,
    '-vf',
    still,
    '-frames:v',
    '6',
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    plain,
  ]);
  await ffmpegTool([
    ...['-i', plain, '-t', '1', '-i', s18, '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac'],
    ...['-metadata:s:v:0', 'rotate=90', phone],
  ]);
  const source = await displayed(phone);
  assert.deepEqual(source, { width: 180, height: 320, rotation: 90 }, 'the clip is a rotated one');

  const info = await probeVideo(phone);
  const geometry = videoGeometry(info, undefined, 128);
  assert.deepEqual([geometry.width, geometry.height, geometry.sourceWidth, geometry.sourceHeight], [72, 128, 180, 320]);
  await writeFrameStore(phone, join(dir, 'frames'), { maxSide: 128 });
  const frames = await FrameStore.open(join(dir, 'frames'));
  const look = getLook('noir');
  const original = await frames.read(0);
  const full = await sourceFrame(info, 0);
  const reference = {
    index: 0,
    original,
    edited: look.apply(original),
    source: { original: full, edited: look.apply(full) },
  };
  const rendered = await renderWindowSegment({
    frames,
    correspondence: new StillCorrespondence(frames),
    window: { start: 0, end: 6 },
    index: 0,
    reference,
    outDir: join(dir, 'window'),
    source: info,
  });
  frames.close();
  const out = join(dir, 'edited.mp4');
  await muxSegments([rendered], out, { audioFrom: phone });

  const shown = await displayed(out);
  assert.deepEqual([shown.width, shown.height], [source.width, source.height], JSON.stringify(shown));
  const edited = await probeVideo(out);
  assert.deepEqual([edited.frameCount, edited.hasAudio], [6, true]);
  // The pictures are the edit of the frame as a player shows the source (upright), not of the stored (sideways)
  // one: both sides as the ffmpeg CLI shows them, independent of the pipeline's decoder.
  const upright = await shownFrame(phone);
  const got = await shownFrame(out);
  assert.deepEqual([upright.width, upright.height, got.width, got.height], [180, 320, 180, 320]);
  const score = psnr(got, look.apply(upright));
  assert.ok(score > 35, `output vs the edited upright source frame: ${score.toFixed(1)} dB`);
  assert.ok(psnr(got, upright) < score - 3, 'the look was applied (the output is not the unedited frame)');
});
