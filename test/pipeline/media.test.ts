import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  InvalidVideoError,
  PIPE,
  concatCommand,
  decodeCommand,
  encodeCommand,
  createFrame,
  decodeFrames,
  probeVideo,
  psnr,
  workingSize,
  type RgbFrame,
} from '@streamedit/pipeline';
import { CLIPS, clipPath, type ClipName } from '../support/clips';
import { childCommands, ffmpegTool, ffprobeJson, python } from '../support/tools';

let dir: string;
/** Broken inputs, made from real clips in a temp dir. */
const bad: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamedit-media-'));
  const may = await readFile(clipPath('may'));
  const d20 = await readFile(clipPath('d20')); // +faststart: index first, so a cut keeps the index
  bad.text = join(dir, 'notes.mp4');
  await writeFile(bad.text, 'these are meeting notes, not a video\n');
  bad.cutBeforeIndex = join(dir, 'may_first_20k.mp4');
  await writeFile(bad.cutBeforeIndex, may.subarray(0, 20_000));
  bad.cutAfterIndex = join(dir, 'd20_half.mp4');
  await writeFile(bad.cutAfterIndex, d20.subarray(0, d20.length >> 1));
  bad.empty = join(dir, 'empty.mp4');
  await writeFile(bad.empty, '');
  bad.audioOnly = join(dir, 'tone.mp4');
  await ffmpegTool(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', bad.audioOnly]);
  bad.missing = join(dir, 'does-not-exist.mp4');
  bad.directory = join(dir, 'a-folder.mp4');
  await mkdir(bad.directory);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The frame turned by 90°, clockwise or not. */
function rotate90(f: RgbFrame, clockwise: boolean): RgbFrame {
  const out = new Uint8Array(f.data.length);
  const w = f.height;
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const [tx, ty] = clockwise ? [f.height - 1 - y, x] : [y, f.width - 1 - x];
      out.set(f.data.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3), (ty * w + tx) * 3);
    }
  }
  return createFrame(w, f.width, out);
}

async function collect(frames: AsyncIterable<RgbFrame>): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

test('probe: every shared clip matches ffprobe’s own numbers and the data README', async () => {
  for (const name of Object.keys(CLIPS) as ClipName[]) {
    const facts = CLIPS[name];
    const info = await probeVideo(clipPath(name));
    const raw = await ffprobeJson(clipPath(name));
    const v = raw.streams.find((s) => s.codec_type === 'video')!;
    const [num, den] = String(v.r_frame_rate).split('/').map(Number);
    assert.deepEqual(
      { w: info.width, h: info.height, frames: info.frameCount, fps: info.fps, audio: info.hasAudio },
      {
        w: Number(v.width),
        h: Number(v.height),
        frames: Number(v.nb_frames),
        fps: { num, den },
        audio: raw.streams.some((s) => s.codec_type === 'audio'),
      },
      name,
    );
    assert.equal(info.frameCount, Number(v.nb_read_packets), `${name}: counted packets`);
    assert.deepEqual(
      [info.width, info.height, info.frameCount, info.fpsValue],
      [facts.width, facts.height, facts.frames, facts.fps],
      `${name} vs README`,
    );
    assert.equal(info.rotation, 0);
    assert.ok(Math.abs(info.duration - info.frameCount / info.fpsValue) < 0.05, `${name}: duration ${info.duration}`);
  }
  const may = await probeVideo(clipPath('may'));
  assert.deepEqual([may.frameCount, may.fpsValue, may.width, may.height, may.hasAudio], [125, 25, 512, 512, true]);
});

test('probe: the frame count is exact — decoding yields exactly frameCount frames (MPEG-4 Part 2, BT.709 faststart, B-frames)', async () => {
  for (const name of ['katiehill', 'd20', 'may'] as const) {
    const info = await probeVideo(clipPath(name));
    let n = 0;
    for await (const f of decodeFrames(info, { maxSide: 32 })) {
      assert.equal(Math.max(f.width, f.height), 32);
      n++;
    }
    assert.equal(n, info.frameCount, name);
  }
});

test('probe: unusable files are an InvalidVideoError with one sentence that says what is wrong and what to do', async () => {
  const expect: Record<string, RegExp> = {
    text: /notes\.mp4 is not a readable video \(ffprobe: .+\): give a complete video file/,
    cutBeforeIndex: /may_first_20k\.mp4 is truncated or incomplete/,
    cutAfterIndex: /d20_half\.mp4 is truncated \(only \d+ of its 175 frames are in the file\)/,
    empty: /empty\.mp4 is empty/,
    audioOnly: /tone\.mp4 has only audio, no video track/,
    missing: /does-not-exist\.mp4 does not exist or cannot be read: check the path\./,
    directory: /a-folder\.mp4 is not a file/,
  };
  for (const [kind, path] of Object.entries(bad)) {
    await assert.rejects(probeVideo(path), (err: unknown) => {
      assert.ok(err instanceof InvalidVideoError, `${kind}: ${String(err)}`);
      assert.match(err.message, expect[kind]!, kind);
      assert.doesNotMatch(err.message, /\n/, `${kind}: one line`);
      return true;
    });
    // decodeFrames probes first, so it refuses the same files before starting ffmpeg.
    await assert.rejects(collect(decodeFrames(path)), InvalidVideoError, kind);
  }
});

test('ffmpeg commands are pure data: exact frame picks at the working size; rational rate and audio copy', () => {
  const d = decodeCommand('/v.mp4', { width: 256, height: 240, start: 7, count: 5 });
  assert.deepEqual(d.inputs, [{ source: '/v.mp4', options: ['-hide_banner', '-v', 'error', '-nostdin'] }]);
  assert.equal(d.output, PIPE);
  assert.match(
    d.outputOptions.join(' '),
    /-vf trim=start_frame=7,scale=256:240:flags=area -frames:v 5 -pix_fmt rgb24 -f rawvideo$/,
  );
  assert.doesNotMatch(decodeCommand('/v.mp4', { width: 64, height: 64 }).outputOptions.join(' '), /trim|-frames:v/);
  const fps = { num: 30000, den: 1001 };
  const e = encodeCommand({ width: 64, height: 48, fps, crf: 18, preset: 'medium', output: '/o.mp4' });
  assert.deepEqual(
    e.inputs.map((i) => i.source),
    [PIPE],
  );
  assert.match(e.inputs[0]!.options.join(' '), /-f rawvideo -pix_fmt rgb24 -video_size 64x48 -framerate 30000\/1001$/);
  assert.match(e.outputOptions.join(' '), /^-map 0:v:0 -c:v libx264 .*-crf 18 -pix_fmt yuv420p/);
  assert.equal(e.output, '/o.mp4');
  // The audio is added by the join, cut on its own input (-t), never by -shortest (which would cut the video).
  const c = concatCommand({ list: '/l.txt', audioFrom: '/a.mp4', audioSeconds: 1.984, output: '/o.mp4' });
  assert.deepEqual(c.inputs[1], { source: '/a.mp4', options: ['-t', '1.984000'] });
  assert.match(c.outputOptions.join(' '), /^-map 0:v:0 -map 1:a:0\? -c copy/);
  assert.doesNotMatch(c.outputOptions.join(' '), /-shortest/);
  assert.deepEqual(concatCommand({ list: '/l.txt', audioFrom: '/a.mp4', output: '/o.mp4' }).inputs[1]!.options, []);
});

test('workingSize: longer side ≤ maxSide, aspect kept, even sides, never enlarged, rotation swaps', () => {
  assert.deepEqual(workingSize({ width: 512, height: 480, rotation: 0 }, 256), { width: 256, height: 240 });
  assert.deepEqual(workingSize({ width: 1920, height: 1080, rotation: 0 }, 512), { width: 512, height: 288 });
  assert.deepEqual(workingSize({ width: 1080, height: 1920, rotation: 0 }, 512), { width: 288, height: 512 });
  assert.deepEqual(workingSize({ width: 1920, height: 1080, rotation: 90 }, 512), { width: 288, height: 512 });
  assert.deepEqual(workingSize({ width: 480, height: 480, rotation: 0 }, 512), { width: 480, height: 480 });
  assert.deepEqual(workingSize({ width: 481, height: 321, rotation: 180 }, 512), { width: 480, height: 320 });
  assert.deepEqual(workingSize({ width: 1000, height: 333, rotation: 0 }, 500), { width: 500, height: 166 });
  assert.deepEqual(workingSize({ width: 512, height: 512, rotation: 0 }), { width: 512, height: 512 }); // settings default 512
});

test('decode: max side 256 gives 256×240 frames; start and count pick exact frames', async () => {
  const d9 = await probeVideo(clipPath('d9'));
  const head = await collect(decodeFrames(d9, { maxSide: 256, count: 12 }));
  assert.equal(head.length, 12);
  for (const f of head) assert.deepEqual([f.width, f.height, f.data.length], [256, 240, 256 * 240 * 3]);
  const mid = await collect(decodeFrames(d9, { maxSide: 256, start: 7, count: 5 }));
  assert.equal(mid.length, 5);
  mid.forEach((f, i) => assert.deepEqual(f.data, head[7 + i]!.data, `frame ${7 + i}`));
  assert.notDeepEqual(head[7]!.data, head[8]!.data); // the clip moves, so the index check above means something
  const tail = await collect(decodeFrames(d9, { maxSide: 64, start: 580 }));
  assert.equal(tail.length, 587 - 580);
  await assert.rejects(collect(decodeFrames(d9, { start: 587 })), /Start frame 587 is past the end .* \(587 frames\)/);
});

test('decode: frames at the source size equal OpenCV VideoCapture’s, bit for bit (the baseline’s decoder)', async () => {
  const ours = await collect(decodeFrames(clipPath('may'), { count: 3 }));
  const digests = JSON.parse(
    await python(
      `import cv2, hashlib, json, sys
cap = cv2.VideoCapture(sys.argv[1]); out = []
for _ in range(3):
    ok, f = cap.read(); out.append(hashlib.sha256(f[..., ::-1].copy().tobytes()).hexdigest())
print(json.dumps(out))`,
      [clipPath('may')],
    ),
  ) as string[];
  assert.deepEqual(
    ours.map((f) => createHash('sha256').update(f.data).digest('hex')),
    digests,
  );
});

test('decode: memory stays bounded on a long clip at full size (frames are streamed, not accumulated)', async () => {
  const info = await probeVideo(clipPath('german')); // 500 frames × 768 KiB = 393 MB of RGB
  const base = process.memoryUsage().rss;
  let peak = 0;
  let bytes = 0;
  for await (const f of decodeFrames(info)) {
    bytes += f.data.length;
    peak = Math.max(peak, process.memoryUsage().rss - base);
  }
  assert.equal(bytes, 500 * 512 * 512 * 3);
  // Holding the frames would add ~393 MB; streaming holds about one frame plus what the GC has not yet collected.
  assert.ok(peak < 150e6, `RSS grew by ${(peak / 1e6).toFixed(0)} MB while decoding ${(bytes / 1e6).toFixed(0)} MB`);
});

test('decode: a consumer that stops early kills ffmpeg (no running or zombie process left)', async () => {
  assert.deepEqual(
    childCommands().filter((c) => c.startsWith('ffmpeg')),
    [],
  );
  let seen: string[] = [];
  let n = 0;
  for await (const frame of decodeFrames(clipPath('german'))) {
    seen = childCommands();
    assert.equal(frame.width, 512);
    if (++n === 3) break;
  }
  assert.ok(seen.includes('ffmpeg'), `ffmpeg runs while decoding: ${seen.join(', ')}`);
  assert.deepEqual(
    childCommands().filter((c) => c.startsWith('ffmpeg')),
    [],
  );
});

test('decode: rotation metadata is applied — a 90° clip decodes upright with its sides swapped', async () => {
  const rotated = join(dir, 'd9_rotated.mp4');
  await ffmpegTool(['-i', clipPath('d9'), '-frames:v', '3', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
  const info = await probeVideo(rotated);
  assert.deepEqual([info.width, info.height], [512, 480]); // stored
  assert.ok(info.rotation === 90 || info.rotation === 270, `rotation ${info.rotation}`);
  assert.deepEqual(workingSize(info, 256), { width: 240, height: 256 });
  const [upright] = await collect(decodeFrames(rotated, { count: 1 }));
  const [plain] = await collect(decodeFrames(clipPath('d9'), { count: 1 }));
  assert.deepEqual([upright!.width, upright!.height], [480, 512]);
  // It is the plain frame turned by a quarter (which way depends on the sign convention, either is upright here).
  const turned = [rotate90(plain!, true), rotate90(plain!, false)].map((f) => psnr(f, upright!));
  assert.ok(Math.max(...turned) > 40, `PSNR vs the turned source frame: ${turned}`);
});
