/**
 * No secret ends up where it should not: the API and both workers run as separate processes (as deployed, logging
 * at debug level), a job goes through with an API key, and then every value in Redis, every log line the three
 * processes wrote, every stored object's name and the job's report.json are searched for the API key, the admin
 * token, the key pepper and the S3 secret. The workers run the PIPELINE STAGES TEST DOUBLE (FARM_STAGES_MODULE).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '@streamedit/pipeline';
import { ApiKeyRepository, createArtifactStore, jobKeys, loadFarmConfig, type ArtifactStore } from '@streamedit/farm';
import { clipPath } from '../support/clips';
import { farmEnv, freePort, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { postJob } from './support/farm-client';
import { waitFor } from './support/processes';
import { startWorkerProcess, type WorkerProcess } from './support/worker-processes';

const ADMIN_TOKEN = 'secrets-test-admin-token-Zq8vW2xK4m';
const PEPPER = 'secrets-test-pepper-Hc7nR5tY1pLo';

let redis: TestRedis;
let s3: TestS3;
let tmp: string;
let api: ChildProcess | undefined;
let apiOutput = '';
let workers: WorkerProcess[] = [];
let client: Redis;
let store: ArtifactStore;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'farm-secrets-'));
  [redis, s3] = await Promise.all([startRedis(), startS3()]);
  client = new Redis(redis.url);
});

after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  if (api && api.exitCode === null) {
    const exited = new Promise((r) => api!.once('exit', r));
    api.kill('SIGTERM');
    await exited;
  }
  await store?.close();
  client?.disconnect();
  await Promise.all([s3?.stop(), redis?.stop()]);
  await rm(tmp, { recursive: true, force: true });
});

/** Every value in Redis, as text: strings, hashes, lists, sets, sorted sets and streams. */
async function dumpRedis(redis: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'hash'
            ? await redis.hgetall(key)
            : type === 'list'
              ? await redis.lrange(key, '0', '-1')
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'zset'
                  ? await redis.zrange(key, '0', '-1')
                  : type === 'stream'
                    ? await redis.xrange(key, '-', '+')
                    : null;
      parts.push(key, JSON.stringify(value));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

test('API key, admin token, pepper and S3 secret are in no Redis value, no log line, no report', async () => {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...farmEnv(redis, s3),
    FARM_AUTH: 'on',
    FARM_AUTH_PEPPER: PEPPER,
    FARM_ADMIN_TOKEN: ADMIN_TOKEN,
    FARM_STAGES_MODULE: resolve(__dirname, 'support', 'recording-stages.js'),
    FARM_SHUTDOWN_GRACE_S: '1',
    STREAMEDIT_LOG_LEVEL: 'debug',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  store = await createArtifactStore(loadFarmConfig(env));
  const { key } = await new ApiKeyRepository(client, PEPPER).create('user', 'secrets-test');
  const admin = (await new ApiKeyRepository(client, PEPPER).create('admin', 'secrets-admin')).key;
  api = spawn(process.execPath, [join(REPO_ROOT, 'dist/apps/api/src/main.js')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  api.stdout!.on('data', (d: Buffer) => (apiOutput += d.toString()));
  api.stderr!.on('data', (d: Buffer) => (apiOutput += d.toString()));
  workers = [
    startWorkerProcess('trainer', { ...env, FARM_WORKER_ID: 'secrets-trainer' }),
    startWorkerProcess('renderer', { ...env, FARM_WORKER_ID: 'secrets-renderer' }),
  ];
  const base = `http://127.0.0.1:${port}`;
  await waitFor('the API', () => apiOutput.includes('"msg":"listening"'), 60_000, 100);
  const auth = { authorization: `Bearer ${key}` };

  // Requests that log: a wrong key, the admin token and an admin key on the admin API, a job, a cancel.
  assert.equal((await fetch(`${base}/v1/jobs`, { headers: { authorization: `Bearer ${key}x` } })).status, 401);
  assert.equal(
    (await fetch(`${base}/admin/api/overview`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status,
    200,
  );
  assert.equal(
    (await fetch(`${base}/admin/api/overview`, { headers: { authorization: `Bearer ${admin}` } })).status,
    200,
  );
  const res = await postJob(
    base,
    { video: clipPath('may'), fields: { look: 'noir', preset: 'fast', frames: '10' } },
    auth,
  );
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = String(res.body.id);
  let state = '';
  for (let i = 0; i < 600 && !['done', 'failed'].includes(state); i++) {
    state = String(
      ((await (await fetch(`${base}/v1/jobs/${id}`, { headers: auth })).json()) as { state: string }).state,
    );
    if (state !== 'done') await sleep(100);
  }
  assert.equal(state, 'done');
  const other = await postJob(base, { video: clipPath('may'), fields: { look: 'noir', frames: '10' } }, auth);
  assert.equal(
    (await fetch(`${base}/v1/jobs/${String(other.body.id)}`, { method: 'DELETE', headers: auth })).status,
    202,
  );
  await sleep(500); // let the workers log the cancel

  const report = (await store.getBuffer(jobKeys(id).report)).toString('utf8');
  const redisText = await dumpRedis(client);
  const logs = [apiOutput, ...workers.map((w) => w.output())].join('\n');
  const names = (await store.list('')).map((o) => o.key).join('\n');
  assert.match(logs, /"msg":"stage done"/, 'the workers logged the job');
  assert.match(redisText, new RegExp(id), 'the job is in Redis');
  assert.match(report, new RegExp(id));

  const secrets: Record<string, string> = {
    'user API key': key,
    'user key secret part': key.split('_').slice(2).join('_'),
    'admin API key secret part': admin.split('_').slice(2).join('_'),
    'admin token': ADMIN_TOKEN,
    pepper: PEPPER,
  };
  for (const [what, secret] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries({
      Redis: redisText,
      logs,
      'report.json': report,
      'storage keys': names,
    })) {
      assert.ok(!text.includes(secret), `the ${what} appears in ${where}`);
    }
  }
  // s3rver's fixed credentials ("S3RVER") are both id and secret: the logged settings must show them redacted.
  assert.ok(!logs.includes(s3.secretAccessKey), 'the S3 secret appears in the logs');
  assert.match(logs, /"s3SecretAccessKey":"\[redacted\]"/);
  assert.ok(!redisText.includes(s3.secretAccessKey), 'the S3 secret appears in Redis');
});
