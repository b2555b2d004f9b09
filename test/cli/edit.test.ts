import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import { encodePng, createFrame, probeVideo, readPng } from '@streamedit/pipeline';
import { errorLines, runCli } from '../support/cli';
import { clipPath } from '../support/clips';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edit-cli-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const may = clipPath('may');
const tiny = ['--preset', 'tiny', '--frames', '12', '--no-progress'];

test('edit: a built-in look end to end (tiny preset, real Chromium, PyTorch, ONNX Runtime, ffmpeg)', async () => {
  const out = join(dir, 'look.mp4');
  const report = join(dir, 'look.json');
  const r = await runCli(
    ['edit', may, '--look', 'cartoon', '-o', out, '--report', report, '--uncertainty', join(dir, 'sigma.mp4'), ...tiny],
    { timeoutMs: 600_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const info = await probeVideo(out);
  assert.equal(info.frameCount, 12);
  assert.deepEqual(info.fps, { num: 25, den: 1 });
  assert.equal(info.hasAudio, true);
  assert.equal((await probeVideo(join(dir, 'sigma.mp4'))).frameCount, 12);
  const rep = JSON.parse(await readFile(report, 'utf8'));
  assert.equal(rep.frames, 12);
  assert.ok(rep.windows.length >= 1 && rep.windows[0].reference === 0);
  assert.equal(rep.perFrame.length, 12);
  assert.ok(
    rep.perFrame.slice(1).every((f: { meanSigma: number }) => f.meanSigma > 0),
    'σ is reported for propagated frames',
  );
  const sheet = await readPng(join(dir, 'look.contact.png'));
  assert.ok(sheet.width > 512 && sheet.height > 3 * 512);
});

test("edit --reuse: another look on the same video reuses the work dir's analysis and model (no retraining)", async () => {
  const work = join(dir, 'work');
  const first = await runCli(
    ['edit', may, '--look', 'cartoon', '-o', join(dir, 'first.mp4'), '--work-dir', work, ...tiny],
    { timeoutMs: 600_000 },
  );
  assert.equal(first.code, 0, first.stderr);
  const model = join(work, 'model', 'model.onnx');
  const before = await readFile(model);
  const analysedAt = (await stat(join(work, 'analysis.json'))).mtimeMs;
  const second = await runCli(
    [
      'edit',
      may,
      '--look',
      'noir',
      '-o',
      join(dir, 'second.mp4'),
      '--work-dir',
      work,
      '--reuse',
      '--report',
      join(dir, 'second.json'),
      ...tiny,
    ],
    { timeoutMs: 600_000 },
  );
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await readFile(model), before, 'the model was not trained again');
  const rep = JSON.parse(await readFile(join(dir, 'second.json'), 'utf8'));
  assert.equal((await stat(join(work, 'analysis.json'))).mtimeMs, analysedAt, 'nothing was analysed again');
  assert.ok(rep.timingsMs.train < 5000, `fit reused: ${rep.timingsMs.train} ms`);
  assert.equal((await probeVideo(join(dir, 'second.mp4'))).frameCount, 12);
  const firstLine = (r: { stderr: string }) => errorLines(r.stderr).filter((l) => !l.startsWith('{'))[0]!;
  const alone = await runCli(['edit', may, '--look', 'noir', '-o', join(dir, 'x.mp4'), '--reuse', ...tiny]);
  assert.equal(alone.code, 2);
  assert.match(firstLine(alone), /--reuse needs --work-dir/);
  const reconstructAlone = await runCli(['reconstruct', may, '--reuse', ...tiny]);
  assert.equal(reconstructAlone.code, 2);
  assert.match(firstLine(reconstructAlone), /--reuse needs --work-dir/);
  // Another frame count: an explicit --reuse refuses rather than re-analysing (which would discard the model).
  const other = await runCli([
    'edit',
    may,
    '--look',
    'noir',
    '-o',
    join(dir, 'y.mp4'),
    '--work-dir',
    work,
    '--reuse',
    '--preset',
    'tiny',
    '--frames',
    '10',
  ]);
  assert.equal(other.code, 2);
  assert.match(firstLine(other), /holds no analysis of .* over these frames; run once without --reuse/);
  assert.deepEqual(await readFile(model), before, 'the model is still there');
});

test('edit: a 1280×720 clip comes back at 1280×720, 30 fps, with its audio; the working size is reported beside', async () => {
  const out = join(dir, 's18.mp4');
  const report = join(dir, 's18.json');
  const s18 = clipPath('s18');
  const r = await runCli(
    [
      'edit',
      s18,
      '--look',
      'cartoon',
      '-o',
      out,
      '--report',
      report,
      '--preset',
      'tiny',
      '--frames',
      '8',
      '--no-progress',
    ],
    { timeoutMs: 600_000 },
  );
  assert.equal(r.code, 0, r.stderr);
  const info = await probeVideo(out);
  assert.deepEqual([info.width, info.height, info.frameCount], [1280, 720, 8]);
  assert.deepEqual(info.fps, { num: 30, den: 1 });
  assert.equal(info.hasAudio, true);
  const rep = JSON.parse(await readFile(report, 'utf8'));
  assert.deepEqual([rep.width, rep.height, rep.working], [1280, 720, { width: 512, height: 288 }]);
  // A working-size keyframe is refused without --upscale-keyframe, in one line naming both sizes, before any work.
  const working = join(dir, 'working-size.png');
  await writeFile(working, encodePng(createFrame(512, 288)));
  const bad = await runCli(['edit', s18, '--keyframe', working, '-o', join(dir, 'no.mp4'), ...tiny]);
  assert.equal(bad.code, 2, bad.stderr);
  const lines = errorLines(bad.stderr).filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, bad.stderr);
  assert.match(lines[0]!, /is 512×288 but the video is 1280×720.*--upscale-keyframe/);
  assert.equal(existsSync(join(dir, 'no.mp4')), false);
});

async function expectBadInput(args: string[], re: RegExp): Promise<void> {
  const out = join(dir, `bad-${Math.random().toString(36).slice(2)}.mp4`);
  const r = await runCli(['edit', may, '-o', out, ...tiny, ...args], {
    env: { STREAMEDIT_EDITOR_URL: 'http://127.0.0.1:9/edit' },
  });
  assert.equal(r.code, 2, r.stderr);
  const lines = errorLines(r.stderr).filter((l) => !l.startsWith('{'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
  assert.equal(existsSync(out), false, 'nothing written at the output path');
}

test('edit: bad inputs exit 2 with one line and write nothing', async () => {
  const wrongSize = join(dir, 'wrong.png');
  await writeFile(wrongSize, encodePng(createFrame(100, 60)));
  await expectBadInput(['--keyframe', wrongSize], /100×60.*512×512/);
  const opaque = join(dir, 'opaque.png');
  const png = new PNG({ width: 512, height: 512 });
  await writeFile(opaque, PNG.sync.write(png, { colorType: 2 }));
  await expectBadInput(['--overlay', opaque], /no alpha/);
  await expectBadInput(['--look', 'sparkles'], /Unknown look "sparkles"/);
  await expectBadInput(['--look', 'cartoon', '--at', '12'], /out of range/);
  await expectBadInput(['--prompt', 'add a hat'], /did not answer.*STREAMEDIT_EDITOR_URL/);
  await expectBadInput([], /exactly one edit/);
  assert.deepEqual(
    (await readdir(dir)).filter((f) => f.includes('partial')),
    [],
  );
});
