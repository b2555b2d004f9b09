import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { InputError, parseHdtfLists, probeVideo } from '@streamedit/pipeline';
import { runCli } from '../support/cli';
import { clipPath } from '../support/clips';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hdtf-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

test('hdtf lists: time ranges become numbered clips joined with their crop windows', () => {
  const clips = parseHdtfLists('Radio11.mp4 00:30-01:00 01:30-02:30\n', 'Radio11_1.mp4 384 549 0 549\n');
  assert.deepEqual(clips, [
    { name: 'Radio11_0', source: 'Radio11.mp4', start: 30, end: 60 },
    { name: 'Radio11_1', source: 'Radio11.mp4', start: 90, end: 150, crop: { x: 384, width: 549, y: 0, height: 549 } },
  ]);
  assert.throws(() => parseHdtfLists('a.mp4 00:10-00:05'), InputError);
  assert.throws(() => parseHdtfLists('a.mp4 0:01-0:02', 'a_0.mp4 1 2 x 4'), InputError);
});

test('hdtf prepare: a hand-written list on a shared clip gives cut, cropped 512² clips', async () => {
  const lists = join(dir, 'HDTF_dataset');
  const sources = join(dir, 'sources');
  await mkdir(lists, { recursive: true });
  await mkdir(sources, { recursive: true });
  await copyFile(clipPath('d20'), join(sources, 'Boy.mp4'));
  await writeFile(join(lists, 'WDA_annotion_time.txt'), 'Boy.mp4 00:00-00:02 00:03-00:05\nMissing.mp4 00:00-00:01\n');
  await writeFile(join(lists, 'WDA_crop_wh.txt'), 'Boy_0.mp4 40 400 20 400\n');
  const out = join(dir, 'out');
  const r = await runCli(['hdtf', 'prepare', '--list', join(lists, 'WDA_annotion_time.txt'), '--sources', sources, '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.deepEqual(result.missing, ['Missing_0']);
  const first = await probeVideo(join(out, 'Boy_0.mp4'));
  assert.deepEqual([first.width, first.height, first.fpsValue], [512, 512, 25]);
  assert.ok(Math.abs(first.frameCount - 50) <= 1, `2 s at 25 fps, got ${first.frameCount}`);
  assert.ok(first.hasAudio);
  assert.ok(Math.abs((await probeVideo(join(out, 'Boy_1.mp4'))).frameCount - 50) <= 1);
});
