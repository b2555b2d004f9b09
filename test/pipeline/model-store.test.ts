import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  MODEL_REGISTRY,
  ModelNotFoundError,
  ModelStore,
  loadSettings,
  sha256File,
  type Settings,
} from '@streamedit/pipeline';

// The shared, read-only model files: the store must find and verify them like any models directory.
const SHARED = loadSettings({}).modelsDirs[0]!;
const SMALL = MODEL_REGISTRY.selfie_segmentation!; // 447 KB: the download tests serve a copy of it.

let work: string;
let server: Server;
let base: string;
/** What the test server answers per path; `requests` counts the hits per path. */
const routes = new Map<string, { status: number; body?: Buffer; hang?: boolean }>();
const requests = new Map<string, number>();

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'streamedit-models-'));
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const r = routes.get(path) ?? { status: 404 };
    if (r.hang) return; // never answers: exercises the download timeout
    res.writeHead(r.status, { 'content-type': 'application/octet-stream' });
    res.end(r.body);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  rmSync(work, { recursive: true, force: true });
});

/** Settings with a fresh cache dir per test, so no test sees another's downloads. */
function settingsFor(over: Partial<Settings>): Settings {
  return loadSettings(
    {},
    { cacheDir: mkdtempSync(join(work, 'cache-')), modelsDirs: [], allowRemoteModels: false, ...over },
  );
}

test('model store: resolves a registered model from a models directory, verified', async () => {
  assert.ok(SHARED && existsSync(join(SHARED, SMALL.fileName)), `the shared models directory is expected at ${SHARED}`);
  const store = new ModelStore({ settings: settingsFor({ modelsDirs: [SHARED] }) });
  for (const name of ['xfeat_256x256', 'selfie_segmentation']) {
    const m = await store.locate(name);
    assert.equal(m.path, join(SHARED, MODEL_REGISTRY[name]!.fileName));
    assert.equal(m.source, 'local');
    assert.equal(m.sha256, await sha256File(m.path), 'the registry sha256 is the file sha256');
  }
  assert.equal(await store.resolve('xfeat_256x256'), join(SHARED, 'xfeat_256x256.onnx'));
  await assert.rejects(
    store.resolve('no_such_model'),
    (e: unknown) => e instanceof ModelNotFoundError && /known models are .*xfeat_256x256/.test(e.message),
  );
});

test('model store: a file with the wrong bytes in a models directory is refused, and the next place is used', async () => {
  const bad = mkdtempSync(join(work, 'bad-'));
  // A real model under another model's name: right format, wrong bytes.
  copyFileSync(join(SHARED, 'xfeat_320x224.onnx'), join(bad, 'xfeat_256x256.onnx'));
  const alone = new ModelStore({ settings: settingsFor({ modelsDirs: [bad] }) });
  await assert.rejects(alone.resolve('xfeat_256x256'), (e: unknown) => {
    assert.ok(e instanceof ModelNotFoundError);
    assert.match(e.message, /xfeat_256x256/);
    assert.ok(e.message.includes(`${join(bad, 'xfeat_256x256.onnx')} (present but sha256 4eb3d299`), e.message);
    assert.match(e.message, /STREAMEDIT_MODELS_DIR/);
    assert.match(e.message, /STREAMEDIT_ALLOW_REMOTE_MODELS=1/);
    return true;
  });
  const withShared = new ModelStore({ settings: settingsFor({ modelsDirs: [bad, SHARED] }) });
  assert.equal(await withShared.resolve('xfeat_256x256'), join(SHARED, 'xfeat_256x256.onnx'));
});

test('model store: a missing model with remote download disabled names every place and STREAMEDIT_ALLOW_REMOTE_MODELS', async () => {
  const empty = mkdtempSync(join(work, 'empty-'));
  const s = settingsFor({ modelsDirs: [empty] });
  const store = new ModelStore({ settings: s, urls: { selfie_segmentation: `${base}/never-called` } });
  await assert.rejects(store.resolve('selfie_segmentation'), (e: unknown) => {
    assert.ok(e instanceof ModelNotFoundError);
    assert.ok(e.message.includes(join(empty, SMALL.fileName)), e.message);
    assert.ok(e.message.includes(join(s.cacheDir, 'models', SMALL.fileName)), e.message);
    assert.match(e.message, /remote download is disabled.*STREAMEDIT_ALLOW_REMOTE_MODELS=1/);
    return true;
  });
  assert.equal(requests.get('/never-called'), undefined, 'no request when remote is disabled');
});

test('model store: downloads from the (overridden) URL into the cache, verified, then serves the cache', async () => {
  routes.set('/good/selfie_segmentation.onnx', { status: 200, body: readFileSync(join(SHARED, SMALL.fileName)) });
  const s = settingsFor({ allowRemoteModels: true });
  const store = new ModelStore({ settings: s, urls: { selfie_segmentation: `${base}/good/selfie_segmentation.onnx` } });
  // Two concurrent calls share one download.
  const [m, twin] = await Promise.all([store.locate('selfie_segmentation'), store.locate('selfie_segmentation')]);
  assert.equal(m.path, join(s.cacheDir, 'models', SMALL.fileName));
  assert.equal(m.source, 'remote');
  assert.equal(twin.path, m.path);
  assert.equal(await sha256File(m.path), SMALL.sha256);
  assert.equal(statSync(m.path).size, SMALL.bytes);
  assert.deepEqual(readdirSync(join(s.cacheDir, 'models')), [SMALL.fileName], 'no temp file left behind');
  const again = await new ModelStore({
    settings: s,
    urls: { selfie_segmentation: `${base}/good/selfie_segmentation.onnx` },
  }).locate('selfie_segmentation');
  assert.equal(again.source, 'cache');
  assert.equal(requests.get('/good/selfie_segmentation.onnx'), 1);
});

test('model store: a download with other bytes is refused and does not stay in the cache', async () => {
  routes.set('/evil/selfie_segmentation.onnx', {
    status: 200,
    body: readFileSync(join(SHARED, 'selfie_segmenter_f16.tflite')),
  });
  const s = settingsFor({ allowRemoteModels: true });
  const store = new ModelStore({ settings: s, urls: { selfie_segmentation: `${base}/evil/selfie_segmentation.onnx` } });
  await assert.rejects(store.resolve('selfie_segmentation'), (e: unknown) => {
    assert.ok(e instanceof ModelNotFoundError);
    assert.match(
      e.message,
      new RegExp(
        `has sha256 ${MODEL_REGISTRY.selfie_segmenter_f16!.sha256} instead of ${SMALL.sha256}, so it was deleted`,
      ),
    );
    return true;
  });
  assert.deepEqual(readdirSync(join(s.cacheDir, 'models')), [], 'neither the file nor its temp file stays');
});

test('model store: HTTP errors and timeouts say what failed and what to change', async () => {
  routes.set('/slow/selfie_segmentation.onnx', { status: 200, hang: true });
  const s = settingsFor({ allowRemoteModels: true, modelDownloadTimeoutS: 1 });
  const missing = new ModelStore({ settings: s, urls: { selfie_segmentation: `${base}/nothing-here.onnx` } });
  await assert.rejects(
    missing.resolve('selfie_segmentation'),
    (e: unknown) =>
      e instanceof ModelNotFoundError && /HTTP 404/.test(e.message) && /STREAMEDIT_MODELS_DIR/.test(e.message),
  );
  const slow = new ModelStore({ settings: s, urls: { selfie_segmentation: `${base}/slow/selfie_segmentation.onnx` } });
  await assert.rejects(
    slow.resolve('selfie_segmentation'),
    (e: unknown) =>
      e instanceof ModelNotFoundError && /timed out after 1 s \(STREAMEDIT_MODEL_DOWNLOAD_TIMEOUT_S\)/.test(e.message),
  );
  assert.deepEqual(readdirSync(join(s.cacheDir, 'models')), []);
});

test('model store: a user-given model (STREAMEDIT_DINOV2 form) by path or URL, checked when a sha256 is given', async () => {
  routes.set('/user/model.onnx', { status: 200, body: readFileSync(join(SHARED, SMALL.fileName)) });
  const s = settingsFor({ allowRemoteModels: true, modelsDirs: [SHARED] });
  const store = new ModelStore({ settings: s });
  // A bare file name is looked up in the models directories; without a checksum it is hashed, not verified.
  const byName = await store.resolveSpec(SMALL.fileName, 'dinov2', 'dinov2');
  assert.deepEqual([byName.path, byName.sha256, byName.verified], [join(SHARED, SMALL.fileName), SMALL.sha256, false]);
  const byUrl = await store.resolveSpec(`${base}/user/model.onnx#sha256=${SMALL.sha256}`, 'dinov2', 'dinov2');
  assert.deepEqual([byUrl.source, byUrl.verified, byUrl.sha256], ['remote', true, SMALL.sha256]);
  assert.equal(
    (await store.resolveSpec(`${base}/user/model.onnx#sha256=${SMALL.sha256}`, 'dinov2', 'dinov2')).source,
    'cache',
  );
  const wrong = 'ab'.repeat(32);
  await assert.rejects(
    store.resolveSpec(`${join(SHARED, SMALL.fileName)}#sha256=${wrong}`, 'dinov2', 'dinov2'),
    (e: unknown) =>
      e instanceof ModelNotFoundError &&
      /STREAMEDIT_DINOV2/.test(e.message) &&
      e.message.includes(`sha256 ${SMALL.sha256} is wrong`),
  );
  await assert.rejects(
    store.resolveSpec('/nowhere/dinov2.onnx', 'dinov2', 'dinov2'),
    (e: unknown) =>
      e instanceof ModelNotFoundError &&
      /STREAMEDIT_DINOV2 names a dinov2 model that was not found \(looked at \/nowhere\/dinov2.onnx \(absent\)\)/.test(
        e.message,
      ),
  );
  await assert.rejects(
    store.resolveSpec('x.onnx#sha256=123', 'dinov2', 'dinov2'),
    /STREAMEDIT_DINOV2 has a malformed checksum/,
  );
});
