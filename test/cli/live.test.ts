/**
 * `streamedit live` as a user runs it: a warm-up fit on the first frames streamed to HLS (kept work dir), then that
 * work dir as `--model` with raw RGB frames on stdin and raw edited frames on stdout; bad input exits 2 with one
 * line. Real Chromium, ONNX Runtime, PyTorch (tiny preset) and ffmpeg.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createFrame, psnr, REPO_ROOT } from '@streamedit/pipeline';
import { CLI, errorLines, runCli } from '../support/cli';
import { CLIPS, clipPath } from '../support/clips';
import { ffprobeJson } from '../support/tools';

const SIDE = 128;
let dir = '';
let workDir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'live-cli-'));
  workDir = join(dir, 'work');
});
after(async () => rm(dir, { recursive: true, force: true }));

/** Frames `indices` of the May clip at SIDE² as raw RGB24 (in that order), decoded by ffmpeg directly (not the library). */
async function rawClip(indices: readonly number[]): Promise<Buffer> {
  const size = SIDE * SIDE * 3;
  const all = await new Promise<Buffer>((done, fail) =>
    execFile(
      'ffmpeg',
      [
        '-v',
        'error',
        '-i',
        clipPath('may'),
        '-frames:v',
        String(Math.max(...indices) + 1),
        '-vf',
        `scale=${SIDE}:${SIDE}:flags=area`,
        '-pix_fmt',
        'rgb24',
        '-f',
        'rawvideo',
        '-',
      ],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout) => (err ? fail(err) : done(stdout)),
    ),
  );
  return Buffer.concat(indices.map((i) => all.subarray(i * size, (i + 1) * size)));
}

/** Runs the CLI with `input` on stdin; stdout as bytes. */
function runWithStdin(
  args: readonly string[],
  input: Buffer,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, STREAMEDIT_LOG_LEVEL: 'error' },
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the CLI may exit before reading everything (bad input)
    child.stdin.end(input);
    child.on('close', (code) => done({ code, stdout: Buffer.concat(out), stderr }));
  });
}

const jsonLines = (stderr: string): Array<Record<string, unknown>> =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{"type"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('live --warmup: fits on the first frames, then writes every frame as HLS (segments beside the playlist)', async () => {
  const playlist = join(dir, 'hls', 'live.m3u8');
  const args = [
    'live',
    '--warmup',
    '6',
    '--look',
    'cartoon',
    '--iterations',
    '10',
    '--max-side',
    String(SIDE),
    '--input',
    clipPath('may'),
    '--frames',
    '10',
  ];
  const r = await runCli([...args, '--output', playlist, '--events', '--work-dir', workDir], {
    timeoutMs: 300_000,
    env: { STREAMEDIT_LOG_LEVEL: 'error' },
  });
  assert.equal(r.code, 0, r.stderr);
  const text = await readFile(playlist, 'utf8');
  assert.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT/);
  assert.match(text, /#EXT-X-ENDLIST/, 'the playlist is finished');
  const segments = (await readdir(join(dir, 'hls'))).filter((f) => f.endsWith('.ts'));
  assert.ok(
    segments.length >= 1 && segments.every((s) => text.includes(s)),
    'the segments listed lie beside the playlist',
  );
  const probe = await ffprobeJson(playlist);
  const video = probe.streams.find((s) => s.codec_type === 'video')!;
  // Fitted at the working size (--max-side), delivered at the source size.
  const source = [CLIPS.may.width, CLIPS.may.height];
  assert.deepEqual([video.width, video.height, Number(video.nb_read_packets)], [...source, 10]);
  const events = jsonLines(r.stderr);
  const ready = events.find((e) => e.type === 'ready') as {
    width: number;
    height: number;
    working: { width: number; height: number };
    warmup: { frames: number; iterations: number };
  };
  assert.deepEqual([ready.warmup.frames, ready.warmup.iterations], [6, 10]);
  assert.deepEqual([ready.width, ready.height, ready.working], [...source, { width: SIDE, height: SIDE }]);
  const end = events.at(-1)!;
  assert.deepEqual([end.type, end.received, end.edited, end.dropped], ['end', 10, 10, 0]);
  assert.ok(
    existsSync(join(workDir, 'model', 'fit.json')) &&
      existsSync(join(workDir, 'edits', 'ref-0.png')) &&
      existsSync(join(workDir, 'edits', 'ref-0-source.png')),
    'the kept work dir is a finished edit (edited references at the working and the source size)',
  );
});

test('live --model: raw RGB frames on stdin come out edited on stdout, in order', async () => {
  assert.ok(existsSync(join(workDir, 'model', 'fit.json')), 'needs the work dir of the warm-up test');
  // Frames far apart, interleaved: each edited frame must come back in the place of its own input.
  const order = [0, 100, 1, 101, 2];
  const input = await rawClip(order);
  const r = await runWithStdin(
    ['live', '--model', workDir, '--input', '-', '--size', `${SIDE}x${SIDE}`, '--output', '-', '--no-progress'],
    input,
  );
  assert.equal(r.code, 0, r.stderr);
  const size = SIDE * SIDE * 3;
  assert.equal(r.stdout.length, 5 * size, 'five raw frames out');
  const frame = (b: Buffer, i: number) => createFrame(SIDE, SIDE, new Uint8Array(b.subarray(i * size, (i + 1) * size)));
  for (let i = 0; i < 5; i++) {
    const own = psnr(frame(r.stdout, i), frame(input, i));
    const other = psnr(frame(r.stdout, i), frame(input, i % 2 === 0 ? 1 : 0));
    assert.ok(own < 40, `frame ${i} is edited (${own.toFixed(1)} dB from its input)`);
    assert.ok(
      own > other,
      `output ${i} belongs to input ${i} (${own.toFixed(1)} dB) rather than to frame ${order[i % 2 === 0 ? 1 : 0]} (${other.toFixed(1)} dB)`,
    );
  }
});

test('live --model: a video file in, an MP4 out (at the source size and frame rate)', async () => {
  const out = join(dir, 'live.mp4');
  const r = await runCli(['live', '--model', workDir, '--input', clipPath('may'), '--frames', '4', '--output', out]);
  assert.equal(r.code, 0, r.stderr);
  const video = (await ffprobeJson(out)).streams.find((s) => s.codec_type === 'video')!;
  assert.deepEqual(
    [video.width, video.height, Number(video.nb_read_packets), video.r_frame_rate],
    [CLIPS.may.width, CLIPS.may.height, 4, '25/1'],
  );
  assert.match(r.stderr, /live: done, 4 frames edited/);
});

test('live: bad input exits 2 with one line', async () => {
  const wrong = await runWithStdin(
    ['live', '--model', workDir, '--input', '-', '--size', '64x64', '--output', '-', '--no-progress'],
    Buffer.alloc(2 * 64 * 64 * 3, 128),
  );
  assert.equal(wrong.code, 2, wrong.stderr);
  const lines = errorLines(wrong.stderr).filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, wrong.stderr);
  assert.match(lines[0]!, /64×64 but this session edits 128×128/);
  for (const [args, re] of [
    [['live', '--input', clipPath('may'), '--output', join(dir, 'x.mp4')], /either --model DIR .* or --warmup N/],
    [
      ['live', '--model', workDir, '--input', clipPath('may'), '--output', join(dir, 'x.avi')],
      /Cannot tell the output format/,
    ],
    [
      ['live', '--model', join(dir, 'nothing'), '--input', clipPath('may'), '--output', join(dir, 'x.mp4')],
      /holds no fitted model/,
    ],
    [['live', '--model', workDir, '--input', '-', '--output', '-'], /needs its frame size: add --size/],
  ] as const) {
    const r = await runCli([...args, '--no-progress']);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(
      errorLines(r.stderr)
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
      re,
    );
  }
});
