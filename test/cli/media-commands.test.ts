import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FrameStore, readPng } from '@streamedit/pipeline';
import { runCli } from '../support/cli';
import { clipPath } from '../support/clips';
import { ffmpegTool } from '../support/tools';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'streamedit-cli-media-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Exit 2 and exactly one stderr line that starts with "error:" and matches `re`. */
function assertBadInput(r: { code: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, re);
}

test('cli probe --json: may_theresa has 125 frames at 25 fps, 512×512, with audio (stdout is only JSON)', async () => {
  const r = await runCli(['probe', clipPath('may'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.deepEqual(
    [info.frameCount, info.fpsValue, info.fps, info.width, info.height, info.hasAudio, info.working],
    [125, 25, { num: 25, den: 1 }, 512, 512, true, { width: 512, height: 512 }],
  );
  const human = await runCli(['probe', clipPath('d9')]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /^frames\s+587$/m);
  assert.match(human.stdout, /^size\s+512×480$/m);
  assert.match(human.stdout, /^fps\s+30\/1 \(30\)$/m);
});

test('cli probe: bad inputs exit 2 with one clear line', async () => {
  const text = join(dir, 'readme.mp4');
  await writeFile(text, 'not a video at all\n');
  const cut = join(dir, 'cut.mp4');
  await writeFile(cut, (await readFile(clipPath('may'))).subarray(0, 20_000));
  const tone = join(dir, 'tone.mp4');
  await ffmpegTool(['-f', 'lavfi', '-i', 'sine=duration=1', '-c:a', 'aac', tone]);
  // Independent CLI runs, in parallel to keep the test short.
  const [r1, r2, r3, r4] = await Promise.all([
    runCli(['probe', text]),
    runCli(['probe', cut, '--json']),
    runCli(['probe', join(dir, 'missing.mp4')]),
    runCli(['probe', tone]),
  ]);
  assertBadInput(r1, /readme\.mp4 is not a readable video .*: give a complete video file/);
  assertBadInput(r2, /cut\.mp4 is truncated or incomplete/);
  assertBadInput(r3, /missing\.mp4 does not exist or cannot be read: check the path/);
  assertBadInput(r4, /tone\.mp4 has only audio, no video track/);
});

test('cli: a missing ffprobe is an internal error (exit 1) that names the setting to fix', async () => {
  const r = await runCli(['probe', clipPath('may')], { env: { STREAMEDIT_FFPROBE: join(dir, 'no-ffprobe') } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ffprobe was not found at .*no-ffprobe.*set STREAMEDIT_FFPROBE/);
});

test('cli frames: PNG files at the working size, or a frame store', async () => {
  const pngs = join(dir, 'pngs');
  const store = join(dir, 'store');
  const pick = ['--max-side', '128', '--count', '3', '--start', '10'];
  const [r, s, bad] = await Promise.all([
    runCli(['frames', clipPath('d9'), '--out', pngs, ...pick]),
    runCli(['frames', clipPath('may'), '--out', store, '--format', 'store', '--max-side', '64']),
    runCli(['frames', clipPath('may'), '--out', join(dir, 'unused'), '--count', '0']),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /wrote 3 frames of 128×120/);
  assert.deepEqual((await readdir(pngs)).sort(), ['frame_000000.png', 'frame_000001.png', 'frame_000002.png']);
  const png = await readPng(join(pngs, 'frame_000002.png'));
  assert.deepEqual([png.width, png.height], [128, 120]);

  assert.equal(s.code, 0, s.stderr);
  const fs = await FrameStore.open(store);
  assert.deepEqual([fs.count, fs.width, fs.height, fs.fps], [125, 64, 64, { num: 25, den: 1 }]);
  fs.close();

  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--count.*expected an integer ≥ 1/);
});

test('cli metrics --json: PSNR / SSIM of a re-encode, clean JSON on stdout; mismatched videos exit 2', async () => {
  const b = join(dir, 'may_crf35.mp4');
  const x264 = '-an -c:v libx264 -preset ultrafast -crf 35'.split(' ');
  await ffmpegTool(['-i', clipPath('may'), '-frames:v', '10', ...x264, b]);
  const [r, same, mismatch] = await Promise.all([
    runCli(['metrics', clipPath('may'), b, '--json', '--count', '10', '--max-side', '256']),
    runCli(['metrics', clipPath('may'), clipPath('may'), '--count', '2', '--max-side', '64']),
    runCli(['metrics', clipPath('may'), b]),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  const sizes = [m.frames, m.width, m.height, m.psnr.perFrame.length, m.ssim.perFrame.length];
  assert.deepEqual(sizes, [10, 256, 256, 10, 10]);
  assert.ok(m.psnr.mean > 25 && m.psnr.mean < 50, `PSNR ${m.psnr.mean}`);
  assert.ok(m.ssim.mean > 0.8 && m.ssim.mean < 1, `SSIM ${m.ssim.mean}`);

  assert.equal(same.code, 0, same.stderr);
  assert.match(same.stdout, /PSNR\s+99\.00 dB/);
  assert.match(same.stdout, /SSIM\s+100\.00 %/);

  assertBadInput(mismatch, /has 125 frames and .* has 10/);
});
