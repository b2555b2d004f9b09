import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FrameStore,
  InputError,
  ToolError,
  createFrame,
  decodeFrames,
  encodeVideo,
  probeVideo,
  psnr,
  writeFrameStore,
  type RgbFrame,
} from '@streamedit/pipeline';
import { clipPath } from '../support/clips';
import { childCommands, python } from '../support/tools';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamedit-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(frames: AsyncIterable<RgbFrame>): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

const noFfmpegLeft = (): void =>
  assert.deepEqual(
    childCommands().filter((c) => c.startsWith('ffmpeg')),
    [],
  );

test('frame store: a decoded clip round-trips, with random access by positional reads', async () => {
  const store = join(dir, 'may128');
  const events: number[] = [];
  const meta = await writeFrameStore(clipPath('may'), store, { maxSide: 128, count: 30 }, (e) => events.push(e.done));
  assert.deepEqual(meta, { count: 30, width: 128, height: 128, fps: { num: 25, den: 1 }, source: clipPath('may') });
  assert.deepEqual(
    events,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  assert.equal((await stat(join(store, 'frames.u8'))).size, 30 * 128 * 128 * 3);
  assert.deepEqual(JSON.parse(await readFile(join(store, 'frames.json'), 'utf8')), meta);

  const decoded = await collect(decodeFrames(clipPath('may'), { maxSide: 128, count: 30 }));
  const fs = await FrameStore.open(store);
  try {
    assert.deepEqual([fs.count, fs.width, fs.height, fs.fps], [30, 128, 128, { num: 25, den: 1 }]);
    for (const i of [29, 0, 17, 3]) {
      assert.deepEqual((await fs.read(i)).data, decoded[i]!.data, `read(${i})`);
      assert.deepEqual(fs.readSync(i).data, decoded[i]!.data, `readSync(${i})`);
    }
    const all = await collect(fs);
    assert.equal(all.length, 30);
    all.forEach((f, i) => assert.deepEqual(f.data, decoded[i]!.data));
    await assert.rejects(fs.read(30), RangeError);
  } finally {
    fs.close();
  }
});

test('frame store: the Python trainer reads the same pixels through numpy.memmap (the format contract)', async () => {
  const store = join(dir, 'd9-64');
  const meta = await writeFrameStore(clipPath('d9'), store, { maxSide: 64, start: 100, count: 8 });
  assert.deepEqual([meta.width, meta.height], [64, 60]);
  const fs = await FrameStore.open(store);
  const frame5 = fs.readSync(5);
  fs.close();
  const out = JSON.parse(
    await python(
      `import json, sys, numpy as np
d = sys.argv[1]; m = json.load(open(d + '/frames.json'))
a = np.memmap(d + '/frames.u8', dtype=np.uint8, mode='r', shape=(m['count'], m['height'], m['width'], 3))
print(json.dumps({'shape': list(a.shape), 'px': a[5, 7, 11].tolist(), 'sum': int(a[5].astype(np.int64).sum())}))`,
      [store],
    ),
  ) as { shape: number[]; px: number[]; sum: number };
  assert.deepEqual(out.shape, [8, 60, 64, 3]);
  const at = (7 * 64 + 11) * 3;
  assert.deepEqual(out.px, [...frame5.data.subarray(at, at + 3)]);
  assert.equal(
    out.sum,
    frame5.data.reduce((s, v) => s + v, 0),
  );
});

test('frame store: an incomplete or damaged store is refused with what to do', async () => {
  const store = join(dir, 'broken');
  await writeFrameStore(clipPath('may'), store, { maxSide: 32, count: 4 });
  await truncate(join(store, 'frames.u8'), 100);
  await assert.rejects(
    FrameStore.open(store),
    (e: unknown) => e instanceof InputError && /has 100 bytes, expected 12288/.test(e.message),
  );
  await unlink(join(store, 'frames.json'));
  await assert.rejects(
    FrameStore.open(store),
    (e: unknown) => e instanceof InputError && /not a finished frame store/.test(e.message),
  );
});

test('encode: H.264 MP4 keeps frame count, rational fps and the source audio', async () => {
  const out = join(dir, 'may_256.mp4');
  const src = await probeVideo(clipPath('may'));
  const frames = await encodeVideo(decodeFrames(src, { maxSide: 256 }), {
    out,
    fps: src.fps,
    audioFrom: src.path,
    preset: 'veryfast',
  });
  assert.equal(frames, 125);
  const info = await probeVideo(out);
  assert.deepEqual(
    {
      frames: info.frameCount,
      fps: info.fps,
      size: [info.width, info.height],
      audio: info.hasAudio,
      codec: info.codec,
      pix: info.pixelFormat,
    },
    { frames: 125, fps: { num: 25, den: 1 }, size: [256, 256], audio: true, codec: 'h264', pix: 'yuv420p' },
  );
  // The pictures survive (same frames, in order): compare a few against the source at the same size.
  const a = await collect(decodeFrames(src, { maxSide: 256, start: 60, count: 3 }));
  const b = await collect(decodeFrames(out, { start: 60, count: 3 }));
  a.forEach((f, i) => assert.ok(psnr(f, b[i]!) > 38, `frame ${60 + i}: ${psnr(f, b[i]!)} dB`));
  assert.deepEqual(await readdir(dir).then((names) => names.filter((n) => n.includes('partial'))), []);
});

test('encode: an NTSC rate stays exact and no audio is made up', async () => {
  const out = join(dir, 'ntsc.mp4');
  const gray = (v: number): RgbFrame => createFrame(64, 48, new Uint8Array(64 * 48 * 3).fill(v));
  async function* ramp(): AsyncGenerator<RgbFrame> {
    for (let i = 0; i < 12; i++) yield gray(i * 20);
  }
  await encodeVideo(ramp(), { out, fps: { num: 30000, den: 1001 }, preset: 'ultrafast' });
  const info = await probeVideo(out);
  assert.deepEqual([info.frameCount, info.fps, info.hasAudio], [12, { num: 30000, den: 1001 }, false]);
});

test('encode: a failure leaves nothing at out (no temp file, no ffmpeg left running)', async () => {
  const out = join(dir, 'never.mp4');
  const boom = new Error('the frame source broke');
  async function* failing(): AsyncGenerator<RgbFrame> {
    let n = 0;
    for await (const f of decodeFrames(clipPath('may'), { maxSide: 128 })) {
      if (++n === 20) throw boom; // mid-way, after ffmpeg has written part of the file
      yield f;
    }
  }
  await assert.rejects(encodeVideo(failing(), { out, fps: { num: 25, den: 1 } }), (e) => e === boom);
  // ffmpeg's own failure (the audio source does not exist) is a ToolError with its stderr kept.
  await assert.rejects(
    encodeVideo(decodeFrames(clipPath('may'), { maxSide: 64, count: 5 }), {
      out,
      fps: { num: 25, den: 1 },
      audioFrom: join(dir, 'no-such-audio.mp4'),
    }),
    (e: unknown) => e instanceof ToolError && /no-such-audio\.mp4/.test(e.details),
  );
  const names = await readdir(dir);
  assert.ok(!names.includes('never.mp4'), names.join(', '));
  assert.deepEqual(
    names.filter((n) => n.includes('partial')),
    [],
  );
  noFfmpegLeft();
});
