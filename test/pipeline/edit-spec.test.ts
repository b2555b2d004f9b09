import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PNG } from 'pngjs';
import {
  createFrame,
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

test('edit: keyframe of the wrong size is refused with both accepted sizes named', async () => {
  const p = join(dir, 'wrong.png');
  await writeFile(p, encodePng(gradient(50, 50)));
  await assert.rejects(resolveEdit({ kind: 'keyframes', keyframes: [{ at: 0, path: p }] }, video, frameAt), isInput(/50×50.*128×96.*64×48/));
});

test('edit: keyframe at source size is resized to the working size', async () => {
  const p = join(dir, 'source.png');
  await writeFile(p, encodePng(gradient(128, 96)));
  const [k] = await resolveEdit({ kind: 'keyframes', keyframes: [{ at: 3, path: p }] }, video, frameAt);
  assert.equal(k!.at, 3);
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
  await assert.rejects(resolveEdit({ kind: 'look', name: 'sparkles' }, video, frameAt), isInput(/Unknown look "sparkles".*cartoon/));
  await assert.rejects(resolveEdit({ kind: 'look', name: 'cartoon', at: 10 }, video, frameAt), isInput(/out of range.*0–9/));
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
