/**
 * The development S3 store refuses what S3 and MinIO refuse. s3rver alone checks no V4 signature (shown below: it
 * serves anonymous and tampered requests), so the dev services put `s3-signing-gate.ts` in front of it; this runs
 * the farm's own signing (the SDK's requests, multipart uploads, presigned result URLs) through that gate and
 * checks that anonymous, tampered, re-keyed and expired requests are refused. Real s3rver, real AWS SDK.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobKeys, S3ArtifactStore } from '@streamedit/farm';
import { startS3, type TestS3 } from '../support/services';

describe('S3 signatures: the dev store behind the signing gate refuses unsigned and tampered requests', () => {
  let s3: TestS3;
  let store: S3ArtifactStore;

  before(async () => {
    s3 = await startS3('streamedit-signing');
    store = new S3ArtifactStore({
      bucket: s3.bucket,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  });

  after(async () => {
    await store?.close();
    await s3?.stop();
  });

  const status = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    return res.status;
  };

  test('signed SDK calls work: put, multipart put (9 MiB), list, get, delete', async () => {
    const keys = jobKeys(randomUUID());
    const big = randomBytes(9 * 1024 * 1024);
    await store.putBuffer(keys.report, '{"ok":true}');
    await store.putBuffer(keys.input, big);
    assert.deepEqual(
      (await store.list(keys.prefix)).map((o) => [o.key, o.size]),
      [
        [keys.input, big.length],
        [keys.report, 11],
      ],
    );
    assert.ok((await store.getBuffer(keys.input)).equals(big));
    assert.equal(await store.deletePrefix(keys.prefix), 2);
  });

  test('anonymous requests: refused by the gate (s3rver alone serves them: why the gate exists)', async () => {
    const key = jobKeys(randomUUID()).report;
    await store.putBuffer(key, 'secret result');
    const bucket = `${s3.endpoint}/${s3.bucket}`;
    assert.equal(await status(`${bucket}?list-type=2`), 403, 'list every key');
    assert.equal(await status(`${bucket}/${key}`), 403, 'read an object');
    assert.equal(await status(`${bucket}/${key}`, { method: 'PUT', body: 'overwritten' }), 403, 'overwrite');
    assert.equal(await status(`${bucket}/${key}`, { method: 'DELETE' }), 403, 'delete');
    assert.equal((await store.getBuffer(key)).toString(), 'secret result', 'unchanged');
    // The same anonymous read straight at s3rver succeeds: s3rver is for development only.
    assert.equal(await status(`${s3.uncheckedEndpoint}/${s3.bucket}/${key}`), 200);
  });

  test('presigned URLs: valid → 200; altered signature, another key, another bucket path, expired → 403', async () => {
    const keys = jobKeys(randomUUID());
    await store.putBuffer(keys.output, 'the edited video');
    await store.putBuffer(keys.report, 'someone else’s report');
    const url = await store.presignedGetUrl(keys.output, 60, 'result.mp4');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'the edited video');

    const signature = new URL(url).searchParams.get('X-Amz-Signature')!;
    const flipped = signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
    assert.equal(await status(url.replace(signature, flipped)), 403, 'signature altered');
    assert.equal(await status(url.replace(keys.output, keys.report)), 403, 'key swapped, signature kept');
    assert.equal(await status(url.replace('result.mp4', 'other.mp4')), 403, 'response header override changed');
    assert.equal(await status(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800')), 403, 'lifetime stretched');
    assert.equal(await status(url.replace(/X-Amz-Signature=[0-9a-f]+/, '')), 403, 'signature removed');

    const shortLived = await store.presignedGetUrl(keys.output, 1);
    assert.equal(await status(shortLived), 200);
    await sleep(2100);
    assert.equal(await status(shortLived), 403, 'expired');
  });

  test('header-signed requests with a wrong secret or an unknown key id are refused', async () => {
    for (const credentials of [
      { accessKeyId: s3.accessKeyId, secretAccessKey: 'not-the-secret' },
      { accessKeyId: 'SOMEONE', secretAccessKey: s3.secretAccessKey },
    ]) {
      const forged = new S3ArtifactStore({
        bucket: s3.bucket,
        region: 'us-east-1',
        endpoint: s3.endpoint,
        credentials,
      });
      try {
        await assert.rejects(forged.list(''), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.$metadata?.httpStatusCode, 403, err.message);
          return true;
        });
      } finally {
        await forged.close();
      }
    }
  });
});
