import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  ArtifactNotFoundError,
  jobKeys,
  LocalArtifactStore,
  S3ArtifactStore,
  type ArtifactStore,
} from '@streamedit/farm';
import { startS3, type TestS3 } from '../support/services';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The same contract, run against both stores. */
function contract(name: string, make: () => ArtifactStore) {
  test(`${name}: put / get / exists / list / deletePrefix keep the key layout`, async () => {
    const store = make();
    const keys = jobKeys(randomUUID());
    await store.putBuffer(keys.report, '{"ok":true}', { contentType: 'application/json' });
    await store.putBuffer(keys.file('frames', '000001.png'), new Uint8Array([1, 2, 3]));
    await store.putBuffer(keys.windowFile(2, 'part.mp4'), Buffer.alloc(10, 7));
    assert.equal((await store.getBuffer(keys.report)).toString(), '{"ok":true}');
    assert.equal(await store.exists(keys.report), true);
    assert.equal(await store.exists(keys.output), false);
    const listed = await store.list(keys.prefix);
    assert.deepEqual(
      listed.map((o) => [o.key, o.size]),
      [
        [keys.file('frames', '000001.png'), 3],
        [keys.report, 11],
        [keys.windowFile(2, 'part.mp4'), 10],
      ],
    );
    assert.deepEqual(
      (await store.list(keys.folder('frames'))).map((o) => o.key),
      [keys.file('frames', '000001.png')],
    );
    await assert.rejects(store.getStream(keys.output), ArtifactNotFoundError);
    assert.equal(await store.deletePrefix(keys.prefix), 3);
    assert.deepEqual(await store.list(keys.prefix), []);
  });

  test(`${name}: streams and files round-trip byte for byte`, async () => {
    const store = make();
    const keys = jobKeys(randomUUID());
    const dir = await mkdtemp(join(tmpdir(), 'farm-store-'));
    try {
      const data = randomBytes(3 * MiB + 17);
      assert.equal(
        await store.putStream(keys.input, Readable.from([data.subarray(0, MiB), data.subarray(MiB)])),
        data.length,
      );
      assert.equal(sha(await readAll(await store.getStream(keys.input))), sha(data));
      await store.downloadToFile(keys.input, join(dir, 'copy'));
      assert.equal(sha(await readFile(join(dir, 'copy'))), sha(data));
      await writeFile(join(dir, 'model'), data.subarray(0, 1000));
      assert.equal(await store.putFile(keys.model, join(dir, 'model')), 1000);
      assert.equal(sha(await store.getBuffer(keys.model)), sha(data.subarray(0, 1000)));
      await store.deletePrefix(keys.prefix);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`${name}: a failing source stream leaves no object behind`, async () => {
    const store = make();
    const keys = jobKeys(randomUUID());
    const broken = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024, 1));
        this.destroy(new Error('client went away'));
      },
    });
    await assert.rejects(store.putStream(keys.input, broken), /client went away/);
    assert.equal(await store.exists(keys.input), false);
    assert.deepEqual(await store.list(keys.prefix), []);
  });
}

describe('artifact store on a real S3 server (s3rver)', () => {
  let s3: TestS3;
  let store: S3ArtifactStore;
  before(async () => {
    s3 = await startS3();
    store = new S3ArtifactStore({
      bucket: s3.bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partSize: 5 * MiB,
    });
  });
  after(async () => {
    await store?.close();
    await s3?.stop();
  });

  contract('s3', () => store);

  test('s3: a 12 MiB stream goes up as a multipart upload (3 parts) and reads back intact', async () => {
    const commands: string[] = [];
    store.client.middlewareStack.add(
      (next, context) => (args) => {
        commands.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'recordCommandsForTest' },
    );
    try {
      const key = jobKeys(randomUUID()).input;
      const data = randomBytes(12 * MiB);
      // Small chunks, as an upload arrives from a socket: the store must assemble parts itself.
      const chunks = Array.from({ length: 192 }, (_, i) => data.subarray(i * 64 * 1024, (i + 1) * 64 * 1024));
      assert.equal(await store.putStream(key, Readable.from(chunks)), data.length);
      assert.equal(commands.filter((c) => c === 'UploadPartCommand').length, 3);
      assert.ok(commands.includes('CompleteMultipartUploadCommand'));
      assert.equal(sha(await store.getBuffer(key)), sha(data));
      await store.deletePrefix(key);
    } finally {
      store.client.middlewareStack.remove('recordCommandsForTest');
    }
  });

  test('s3: a presigned URL fetches the object without credentials until it expires', async () => {
    const key = jobKeys(randomUUID()).output;
    const data = randomBytes(200_000);
    await store.putBuffer(key, data, { contentType: 'video/mp4' });
    const url = await store.presignedGetUrl(key, 60, 'result.mp4');
    assert.match(url, /X-Amz-Signature=/);
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(sha(new Uint8Array(await res.arrayBuffer())), sha(data));
    assert.match(res.headers.get('content-disposition') ?? '', /result\.mp4/);
    // X-Amz-Date has whole seconds: 2 s of validity is at least 1 s, and it is surely over 3.1 s later.
    const shortLived = await store.presignedGetUrl(key, 2);
    assert.equal((await fetch(shortLived)).status, 200);
    await new Promise((r) => setTimeout(r, 3100));
    assert.equal((await fetch(shortLived)).status, 403);
    await store.deletePrefix(key);
  });

  test('s3: an unreachable endpoint fails after bounded retries instead of hanging', async () => {
    const dead = new S3ArtifactStore({
      bucket: s3.bucket,
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    const started = Date.now();
    await assert.rejects(dead.exists(jobKeys(randomUUID()).input));
    assert.ok(Date.now() - started < 30_000);
    await dead.close();
  });
});

describe('artifact store in a local folder (embedded mode)', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'farm-local-store-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  contract('local', () => new LocalArtifactStore(root));

  test('local: keys cannot escape the root and there are no presigned URLs', async () => {
    const store = new LocalArtifactStore(root);
    await assert.rejects(store.putBuffer('../outside', 'x'), /Unsafe artifact key/);
    await assert.rejects(store.putBuffer('jobs/../../x', 'x'), /Unsafe artifact key/);
    await assert.rejects(store.presignedGetUrl(), /streams local results/);
    assert.throws(() => jobKeys('../../etc'), /Not a job id/);
    assert.throws(() => jobKeys(randomUUID()).file('frames', '../x'), /Invalid artifact name/);
  });
});
