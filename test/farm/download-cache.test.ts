import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DownloadCachingStore, jobKeys, LocalArtifactStore } from '@streamedit/farm';

// A real local store underneath; the cache must spare it repeated downloads of immutable artifacts only.
let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'download-cache-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The local store, counting the downloads that reach it. */
class CountingStore extends LocalArtifactStore {
  readonly downloads: string[] = [];
  override async downloadToFile(key: string, path: string): Promise<void> {
    this.downloads.push(key);
    return super.downloadToFile(key, path);
  }
}

test('download cache: immutable artifacts are fetched once per worker; outputs always come from the store', async () => {
  const inner = new CountingStore(join(dir, 'store'));
  const store = new DownloadCachingStore(inner, { dir: join(dir, 'cache-1'), maxBytes: 1 << 20 });
  const keys = jobKeys(randomUUID());
  // Written by other workers (straight to the store).
  await inner.putBuffer(keys.file('frames', 'frames.u8'), Buffer.alloc(1000, 7));
  await inner.putBuffer(keys.model, 'model bytes');
  await inner.putBuffer(keys.windowFile(0, 'stats.json'), '{"v":1}');
  for (let round = 0; round < 3; round++) {
    for (const key of [keys.file('frames', 'frames.u8'), keys.model, keys.windowFile(0, 'stats.json')]) {
      const out = join(dir, `out-${round}`);
      await store.downloadToFile(key, out);
      assert.deepEqual(await readFile(out), await inner.getBuffer(key), key);
    }
    if (round === 0) await store.putBuffer(keys.windowFile(0, 'stats.json'), '{"v":2}'); // a retried render
  }
  assert.equal(inner.downloads.filter((k) => k === keys.model).length, 1);
  assert.equal(inner.downloads.filter((k) => k.endsWith('frames.u8')).length, 1);
  assert.equal(inner.downloads.filter((k) => k.endsWith('stats.json')).length, 3, 'render outputs are not cached');
  // Like the stores, it creates the destination's folders (a stage's fresh work dir has none).
  await store.downloadToFile(keys.model, join(dir, 'fresh', 'model', 'model.onnx'));
  assert.equal((await readFile(join(dir, 'fresh', 'model', 'model.onnx'))).toString(), 'model bytes');
  // A copy, not a link: writing the file a stage was given leaves the cache intact.
  const given = join(dir, 'given');
  await store.downloadToFile(keys.model, given);
  await writeFile(given, 'changed by a stage');
  await store.downloadToFile(keys.model, join(dir, 'again'));
  assert.equal((await readFile(join(dir, 'again'))).toString(), 'model bytes');
});

test('download cache: the least recently used files go once the cache is over its size', async () => {
  const inner = new CountingStore(join(dir, 'store-2'));
  const cacheDir = join(dir, 'cache-2');
  const store = new DownloadCachingStore(inner, { dir: cacheDir, maxBytes: 2500 });
  const keys = jobKeys(randomUUID());
  const names = ['a.bin', 'b.bin', 'c.bin'];
  for (const n of names) await inner.putBuffer(keys.file('features', n), Buffer.alloc(1000, 1));
  for (const n of names) {
    await store.downloadToFile(keys.file('features', n), join(dir, n));
    await new Promise((r) => setTimeout(r, 20)); // distinct use times
  }
  assert.equal((await readdir(cacheDir)).length, 2, 'the oldest of three 1000-byte files was evicted at 2500 bytes');
  await store.downloadToFile(keys.file('features', 'a.bin'), join(dir, 'a2'));
  await store.downloadToFile(keys.file('features', 'c.bin'), join(dir, 'c2'));
  assert.deepEqual(
    inner.downloads.map((k) => k.split('/').pop()),
    ['a.bin', 'b.bin', 'c.bin', 'a.bin'],
    'a was evicted and fetched again; c was still cached',
  );
});

test('download cache: what a worker uploads itself is never downloaded back; outputs still are', async () => {
  const inner = new CountingStore(join(dir, 'store-3'));
  const store = new DownloadCachingStore(inner, { dir: join(dir, 'cache-3'), maxBytes: 1 << 20 });
  const keys = jobKeys(randomUUID());
  const file = join(dir, 'features.f32');
  await writeFile(file, Buffer.alloc(2000, 3));
  await store.putFile(keys.file('features', 'features.f32'), file);
  await store.putBuffer(keys.model, 'model bytes');
  await store.putFile(keys.windowFile(0, 'frames.mp4'), file);
  await writeFile(file, 'the stage reuses its file'); // the cache kept its own copy
  await store.downloadToFile(keys.file('features', 'features.f32'), join(dir, 'f3'));
  await store.downloadToFile(keys.model, join(dir, 'm3'));
  await store.downloadToFile(keys.windowFile(0, 'frames.mp4'), join(dir, 'w3'));
  assert.deepEqual(await readFile(join(dir, 'f3')), Buffer.alloc(2000, 3));
  assert.equal((await readFile(join(dir, 'm3'))).toString(), 'model bytes');
  assert.deepEqual(inner.downloads, [keys.windowFile(0, 'frames.mp4')], 'only the render output came from the store');
});
