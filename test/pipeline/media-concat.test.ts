/** Joining per-window segments without re-encoding (the farm's mux and the embedded edit): real ffmpeg, a real clip. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  audioCutSeconds,
  concatList,
  concatVideos,
  decodeFrames,
  encodeVideo,
  probeVideo,
  type RgbFrame,
} from '@streamedit/pipeline';
import { clipPath } from '../support/clips';
import { ffmpegTool, ffprobeJson } from '../support/tools';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'concat-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const may = clipPath('may');

async function frames(path: string, start = 0, count?: number): Promise<RgbFrame[]> {
  const out: RgbFrame[] = [];
  for await (const f of decodeFrames(path, { start, count })) out.push(f);
  return out;
}

test('concatList quotes a path with an apostrophe the way the concat demuxer reads it', () => {
  assert.equal(concatList(['/a/b.mp4', "/x/it's.mp4"]), "file '/a/b.mp4'\nfile '/x/it'\\''s.mp4'\n");
});

test('concatVideos joins segments losslessly, in order, at the source fps, with the source audio', async () => {
  const fps = (await probeVideo(may)).fps;
  const parts = [join(dir, "part's-0.mp4"), join(dir, 'part-1.mp4')];
  await encodeVideo(
    (async function* () {
      yield* await frames(may, 0, 5);
    })(),
    { out: parts[0]!, fps },
  );
  await encodeVideo(
    (async function* () {
      yield* await frames(may, 5, 7);
    })(),
    { out: parts[1]!, fps },
  );
  const out = join(dir, 'joined.mp4');
  await concatVideos(parts, out, { audioFrom: may });
  const info = await probeVideo(out);
  assert.equal(info.frameCount, 12);
  assert.deepEqual(info.fps, fps);
  assert.equal(info.hasAudio, true);
  const joined = await frames(out);
  const expected = [...(await frames(parts[0]!)), ...(await frames(parts[1]!))];
  assert.equal(joined.length, expected.length);
  joined.forEach((f, i) =>
    assert.ok(Buffer.from(f.data).equals(Buffer.from(expected[i]!.data)), `frame ${i} is bit-identical`),
  );
  const silent = join(dir, 'silent.mp4');
  await concatVideos(parts, silent);
  assert.equal((await probeVideo(silent)).hasAudio, false);
  await assert.rejects(concatVideos([], join(dir, 'none.mp4')), /at least one segment/);
});

/** A 2 s, 50-frame 25 fps test pattern with a tone of `audioSeconds` at `rate` Hz (AAC), made by real ffmpeg. */
async function clipWithAudio(name: string, audioSeconds: number, rate: number): Promise<string> {
  const path = join(dir, name);
  await ffmpegTool([
    ...['-f', 'lavfi', '-i', 'testsrc=size=128x96:rate=25:duration=2'],
    ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=${rate}:duration=${audioSeconds}`],
    ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', path],
  ]);
  return path;
}

/** ffprobe's own view of a muxed file: video frames and duration, audio duration, container duration. */
async function durations(path: string): Promise<{ frames: number; video: number; audio?: number; file: number }> {
  const raw = await ffprobeJson(path);
  const v = raw.streams.find((s) => s.codec_type === 'video')!;
  const a = raw.streams.find((s) => s.codec_type === 'audio');
  return {
    frames: Number(v.nb_read_packets),
    video: Number(v.duration),
    audio: a && Number(a.duration),
    file: Number(raw.format.duration),
  };
}

test('audioCutSeconds: the start of the first packet that would end after the video, in output time', () => {
  const aac = (n: number) => Array.from({ length: n }, (_, i) => ({ pts: (i * 1024) / 48000, duration: 1024 / 48000 }));
  assert.equal(audioCutSeconds(aac(142), 0, 2), (93 * 1024) / 48000); // packet 93 ends at 2.0053 s
  assert.equal(audioCutSeconds(aac(40), 0, 2), undefined); // audio ends first: nothing to cut
  assert.equal(
    audioCutSeconds(
      [
        { pts: 11, duration: 0.5 },
        { pts: 11.5, duration: 0.5 },
      ],
      10,
      1.2,
    ),
    1,
  ); // file starts at 10 s
  assert.equal(audioCutSeconds([{ pts: 1.5, duration: 0.5 }], 0, 2), undefined); // ends exactly with the video
});

test('mux: audio shorter than the video keeps every frame; longer audio is cut to end within the video', async () => {
  const short = await clipWithAudio('short-audio.mp4', 1, 48000);
  const long = await clipWithAudio('long-audio.mp4', 3, 44100); // 1024/44100 s packets: not aligned with 2 s
  const fps = { num: 25, den: 1 };
  for (const [name, src] of [
    ['short', short],
    ['long', long],
  ] as const) {
    // The farm's and the CLI's mux: window segments joined with the source's audio.
    const parts = [join(dir, `${name}-0.mp4`), join(dir, `${name}-1.mp4`)];
    await encodeVideo(decodeFrames(src, { count: 30 }), { out: parts[0]!, fps, preset: 'ultrafast' });
    await encodeVideo(decodeFrames(src, { start: 30 }), { out: parts[1]!, fps, preset: 'ultrafast' });
    const joined = join(dir, `${name}-joined.mp4`);
    await concatVideos(parts, joined, { audioFrom: src });
    // One encode with the audio, of the first 30 frames only (`frames=N`): the audio follows that shorter video.
    const first = join(dir, `${name}-first.mp4`);
    await encodeVideo(decodeFrames(src, { count: 30 }), { out: first, fps, preset: 'ultrafast', audioFrom: src });
    for (const [out, frames] of [
      [joined, 50],
      [first, 30],
    ] as const) {
      const d = await durations(out);
      const label = `${name} → ${out}: ${JSON.stringify(d)}`;
      assert.equal(d.frames, frames, label);
      assert.ok(Math.abs(d.video - frames / 25) < 1e-3, label);
      assert.ok(d.file <= d.video + 1e-6, `never longer than the video: ${label}`);
      assert.ok(d.audio !== undefined && d.audio <= d.video + 1e-6, label);
      // Short audio stays whole (1 s); long audio is cut at a packet boundary, at most two packets early.
      const expected = name === 'short' ? Math.min(1, frames / 25) : frames / 25;
      assert.ok(d.audio! > expected - 2 * (1024 / 44100) - 1e-3, `audio kept up to the cut: ${label}`);
    }
  }
});
