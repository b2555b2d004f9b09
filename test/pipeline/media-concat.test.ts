/** Joining per-window segments without re-encoding (the farm's mux and the embedded edit): real ffmpeg, a real clip. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { concatList, concatVideos, decodeFrames, encodeVideo, probeVideo, type RgbFrame } from '@streamedit/pipeline';
import { clipPath } from '../support/clips';

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
