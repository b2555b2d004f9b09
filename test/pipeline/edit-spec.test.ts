import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  createFrame,
  editImageFit,
  encodePng,
  getLook,
  InputError,
  listLooks,
  loadSettings,
  requestPromptEdit,
  resolveEdit,
  type RgbFrame,
  type VideoGeometry,
} from '@streamedit/pipeline';

const video: VideoGeometry = { frameCount: 10, width: 64, height: 48, sourceWidth: 128, sourceHeight: 96 };
const gradient = (w: number, h: number): RgbFrame => {
  const d = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) d.set([(i * 7) % 256, (i * 3) % 256, (i * 11) % 256], i * 3);
  return createFrame(w, h, d);
};
const frameAt = async (): Promise<RgbFrame> => gradient(64, 48);
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edit-spec-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

function rgbaPng(w: number, h: number, alpha: boolean, a = 128): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) png.data.set([255, 0, 0, a], i * 4);
  return PNG.sync.write(png, alpha ? {} : { colorType: 2 });
}

const isInput = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);

/** Frames read at both sizes: the source frame is the working one's picture at 128×96. */
const sourceFrameAt = async (): Promise<RgbFrame> => gradient(128, 96);
const both = { working: frameAt, source: sourceFrameAt };

test('edit: a keyframe of any other size is refused with its size and the source size named', async () => {
  const p = join(dir, 'wrong.png');
  await writeFile(p, encodePng(gradient(50, 50)));
  const spec = { kind: 'keyframes', keyframes: [{ at: 0, path: p }] } as const;
  await assert.rejects(
    resolveEdit(spec, video, both),
    isInput(/is 50×50 but the video is 128×96: give an image of 128×96\.$/),
  );
  assert.throws(() => editImageFit({ width: 50, height: 50 }, video, 'x.png'), isInput(/x\.png is 50×50.*128×96/));
  assert.equal(editImageFit({ width: 128, height: 96 }, video, 'x.png'), 'source');
});

test('edit: a keyframe at the source size is kept there and carried to the working size', async () => {
  const p = join(dir, 'source.png');
  const edited = gradient(128, 96);
  for (let i = 0; i < 128 * 3 * 10; i++) edited.data[i] = 255; // the top 10 rows painted white
  await writeFile(p, encodePng(edited));
  const [k] = await resolveEdit({ kind: 'keyframes', keyframes: [{ at: 3, path: p }] }, video, both);
  assert.equal(k!.at, 3);
  assert.deepEqual(k!.source!.edited.data, edited.data, 'the source-size edit is the image given');
  assert.deepEqual([k!.edited.width, k!.edited.height], [64, 48]);
  const working = (await frameAt()).data;
  // Below the painted band the working-size edit is the working frame itself (the edit's delta is 0 there).
  assert.deepEqual(k!.edited.data.subarray(64 * 3 * 6), working.subarray(64 * 3 * 6));
  const rowMean = (d: Uint8Array) => d.subarray(0, 64 * 3).reduce((a, v) => a + v, 0) / (64 * 3);
  assert.ok(rowMean(k!.edited.data) > rowMean(working) + 30, 'the white band is carried to the working size');
});

test('edit: a working-size keyframe needs upscaleKeyframe, then it is carried up onto the source frame', async () => {
  const p = join(dir, 'working.png');
  const edited = gradient(64, 48);
  for (let i = 0; i < 64 * 3 * 4; i++) edited.data[i] = 0; // the top 4 rows painted black
  await writeFile(p, encodePng(edited));
  const spec = { kind: 'keyframes', keyframes: [{ at: 0, path: p }] } as const;
  await assert.rejects(
    resolveEdit(spec, video, both),
    isInput(/64×48 but the video is 128×96.*64×48 working-size image.*--upscale-keyframe/),
  );
  const [k] = await resolveEdit(spec, video, both, { upscaleKeyframe: true });
  assert.deepEqual([k!.source!.edited.width, k!.source!.edited.height], [128, 96]);
  const source = (await sourceFrameAt()).data;
  assert.equal(k!.source!.edited.data[0], 0, 'the painted band reaches the source size');
  // Far from the band the source frame's own pixels are kept (no blur from upscaling).
  assert.deepEqual(k!.source!.edited.data.subarray(128 * 3 * 20), source.subarray(128 * 3 * 20));
});

test('edit: a look is applied at the source size', async () => {
  const [k] = await resolveEdit({ kind: 'look', name: 'noir' }, video, both);
  assert.deepEqual(k!.source!.edited.data, getLook('noir').apply(await sourceFrameAt()).data);
  assert.deepEqual([k!.edited.width, k!.edited.height], [64, 48]);
});

test('edit: overlay without alpha is refused; with alpha it is composited', async () => {
  const opaque = join(dir, 'opaque.png');
  await writeFile(opaque, rgbaPng(64, 48, false));
  await assert.rejects(resolveEdit({ kind: 'overlay', path: opaque }, video, frameAt), isInput(/no alpha/));
  const half = join(dir, 'half.png');
  await writeFile(half, rgbaPng(64, 48, true, 128));
  const [k] = await resolveEdit({ kind: 'overlay', path: half }, video, frameAt);
  const orig = (await frameAt()).data;
  assert.equal(k!.edited.data[0], Math.round(255 * (128 / 255) + orig[0]! * (1 - 128 / 255)));
  assert.equal(k!.edited.data[1], Math.round(orig[1]! * (1 - 128 / 255)));
});

test('edit: unknown look, index out of range and empty keyframe list are clear input errors', async () => {
  await assert.rejects(
    resolveEdit({ kind: 'look', name: 'sparkles' }, video, frameAt),
    isInput(/Unknown look "sparkles".*cartoon/),
  );
  await assert.rejects(
    resolveEdit({ kind: 'look', name: 'cartoon', at: 10 }, video, frameAt),
    isInput(/out of range.*0–9/),
  );
  await assert.rejects(resolveEdit({ kind: 'keyframes', keyframes: [] }, video, frameAt), isInput(/No keyframe/));
});

test('looks: at least two built-ins including cartoon; each changes the frame deterministically', () => {
  const names = listLooks().map((l) => l.name);
  assert.ok(names.includes('cartoon') && names.length >= 2);
  const f = gradient(64, 48);
  for (const name of names) {
    const a = getLook(name).apply(f);
    assert.deepEqual(a.data, getLook(name).apply(f).data);
    let diff = 0;
    for (let i = 0; i < a.data.length; i++) diff += Math.abs(a.data[i]! - f.data[i]!);
    assert.ok(diff / a.data.length > 5, `${name} changes the image`);
  }
});

test('prompt edit: a stand-in endpoint on 127.0.0.1 gets the keyframe and prompt; down endpoint is a clear error', async () => {
  let seen: { prompt?: string; width?: number } = {};
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const inverted = gradient(64, 48);
      for (let i = 0; i < inverted.data.length; i++) inverted.data[i] = 255 - inverted.data[i]!;
      res.writeHead(200, { 'content-type': 'image/png' }).end(encodePng(inverted));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const cfg = loadSettings({ STREAMEDIT_EDITOR_URL: `http://127.0.0.1:${port}/edit` });
    const out = await requestPromptEdit(gradient(64, 48), 'make it blue', cfg);
    assert.equal(seen.prompt, 'make it blue');
    assert.equal(seen.width, 64);
    assert.equal(out.data[0], 255 - gradient(64, 48).data[0]!);
  } finally {
    await new Promise((r) => server.close(r));
  }
  const down = loadSettings({ STREAMEDIT_EDITOR_URL: `http://127.0.0.1:${port}/edit` });
  await assert.rejects(requestPromptEdit(gradient(8, 8), 'x', down), isInput(/did not answer.*STREAMEDIT_EDITOR_URL/));
});
