import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '@streamedit/pipeline';
import { describeFarmConfig, isTransientError, loadFarmConfig, publicBaseUrl, withRetry } from '@streamedit/farm';

test('farm config: defaults load, documented variables override, an invalid value names its variable', () => {
  const d = loadFarmConfig({});
  assert.equal(d.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(d.port, 3000);
  assert.equal(d.storage, 's3');
  const c = loadFarmConfig({ PORT: '8080', FARM_STORAGE: 'local', FARM_TRAIN_DEVICE: 'gpu', S3_FORCE_PATH_STYLE: '0' });
  assert.deepEqual([c.port, c.storage, c.trainDevice, c.s3ForcePathStyle], [8080, 'local', 'gpu', false]);
  assert.throws(
    () => loadFarmConfig({ PORT: 'eighty' }),
    (e: unknown) => e instanceof InputError && /PORT="eighty"/.test(e.message),
  );
  assert.throws(() => loadFarmConfig({ S3_BUCKET: 'Bad_Bucket' }), /S3_BUCKET/);
  assert.throws(
    () => loadFarmConfig({ S3_ACCESS_KEY_ID: 'only-the-id' }),
    /both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/,
  );
  assert.equal(publicBaseUrl(loadFarmConfig({ HOST: '0.0.0.0', PORT: '3000' })), 'http://127.0.0.1:3000');
  assert.equal(
    publicBaseUrl(loadFarmConfig({ FARM_PUBLIC_URL: 'https://farm.example.com/' })),
    'https://farm.example.com',
  );
});

test('farm config: credentials never appear in what is logged or in error messages', () => {
  const secret = 'wJalrXUtnFEMI-very-secret';
  const c = loadFarmConfig({
    S3_ACCESS_KEY_ID: 'AKIAEXAMPLE',
    S3_SECRET_ACCESS_KEY: secret,
    REDIS_URL: `redis://user:${secret}@redis:6379`,
    FARM_STREAM_SECRET: `stream-${secret}`,
  });
  assert.equal(c.streamSecret, `stream-${secret}`);
  const logged = JSON.stringify(describeFarmConfig(c));
  assert.doesNotMatch(logged, new RegExp(secret));
  assert.doesNotMatch(logged, /AKIAEXAMPLE/);
  assert.match(logged, /redis:\/\/user:redacted@redis:6379/);
  // A malformed Redis URL may still hold a password: the message names the variable, not the value.
  assert.throws(
    () => loadFarmConfig({ REDIS_URL: `redis//:${secret}@redis` }),
    (e: unknown) => e instanceof InputError && /REDIS_URL/.test(e.message) && !e.message.includes(secret),
  );
  // A stream key too short to be safe is refused without being echoed; the streamer URL must be a socket's.
  assert.throws(
    () => loadFarmConfig({ FARM_STREAM_SECRET: 'short-secret' }),
    (e: unknown) =>
      e instanceof InputError && /FARM_STREAM_SECRET/.test(e.message) && !e.message.includes('short-secret'),
  );
  assert.throws(() => loadFarmConfig({ FARM_STREAMER_URL: 'ftp://streamer:3001' }), /FARM_STREAMER_URL.*ws:\/\//);
});

test('withRetry: retries transient errors with backoff, never client errors', async () => {
  let calls = 0;
  const flaky = async () => {
    calls++;
    if (calls < 3) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    return 'ok';
  };
  assert.equal(await withRetry(flaky, { baseDelayMs: 5 }), 'ok');
  assert.equal(calls, 3);

  let denied = 0;
  const forbidden = Object.assign(new Error('AccessDenied'), { $metadata: { httpStatusCode: 403 } });
  await assert.rejects(
    withRetry(async () => {
      denied++;
      throw forbidden;
    }),
    /AccessDenied/,
  );
  assert.equal(denied, 1);
  assert.equal(isTransientError(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } })), true);
  assert.equal(isTransientError(Object.assign(new Error('x'), { name: 'SlowDown' })), true);
  assert.equal(isTransientError(new Error('plain')), false);
});
