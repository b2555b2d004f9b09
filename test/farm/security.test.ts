/**
 * Security of the farm API with auth ON: API keys (created by `npm run farm:keys`, stored hashed), roles, per-key
 * ownership of jobs, rate limits and job quotas (429 + Retry-After), media limits checked by ffprobe before a job
 * exists, server-made storage keys, presigned URL lifetimes, helmet headers and CORS. Real redis-server, s3rver,
 * ffprobe and the NestJS API; the worker runs the PIPELINE STAGES TEST DOUBLE (these tests are about the gate,
 * not the editing).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { REPO_ROOT } from '@streamedit/pipeline';
import {
  API_KEY_KEYS,
  ApiKeyRepository,
  describeFarmConfig,
  JOB_KEYS,
  loadFarmConfig,
  resolveAuth,
  type ArtifactStore,
  type FarmConfig,
} from '@streamedit/farm';
import type { RunningApi } from '../../apps/api/src/api-app';
import { startInProcessFarm, type InProcessFarm } from './support/in-process-farm';
import { clipPath } from '../support/clips';
import { farmEnv, startRedis, startS3, type TestRedis, type TestS3 } from '../support/services';
import { jobForm, postJob } from './support/farm-client';
import { recordingStagesForTest } from './support/recording-stages';

const run = promisify(execFile);
const ADMIN_TOKEN = 'security-test-admin-token-0123456789';
const PEPPER = 'security-test-pepper-abcdefghijklmnop';
/** 480×480, 175 frames at 25 fps: under the side limit of this suite, over its frame and duration limits. */
const SMALL = clipPath('d20');
/** 512×512: over the side limit (500) of this suite. */
const WIDE = clipPath('may');
const ORIGIN = 'https://app.example.com';

test('FARM_AUTH: on unless the API listens on loopback only with no public URL (dev); explicit values win', () => {
  const auth = (env: Record<string, string>) => resolveAuth(loadFarmConfig(env));
  assert.deepEqual(auth({}), { enabled: false, defaulted: true }, 'npm run farm / embedded on 127.0.0.1');
  assert.deepEqual(auth({ HOST: 'localhost' }), { enabled: false, defaulted: true });
  assert.deepEqual(auth({ HOST: '0.0.0.0' }), { enabled: true, defaulted: true }, 'containers');
  assert.deepEqual(auth({ HOST: '10.0.0.5' }), { enabled: true, defaulted: true });
  assert.deepEqual(
    auth({ FARM_PUBLIC_URL: 'https://farm.example.com' }),
    { enabled: true, defaulted: true },
    'behind a proxy',
  );
  assert.deepEqual(auth({ HOST: '0.0.0.0', FARM_AUTH: 'off' }), { enabled: false, defaulted: false });
  assert.deepEqual(auth({ FARM_AUTH: 'on' }), { enabled: true, defaulted: false });
  assert.throws(() => loadFarmConfig({ FARM_AUTH: 'yes' }), /FARM_AUTH/);
  assert.throws(
    () => loadFarmConfig({ FARM_AUTH_PEPPER: 'short-pepper' }),
    (e: unknown) => e instanceof Error && /FARM_AUTH_PEPPER/.test(e.message) && !e.message.includes('short-pepper'),
  );
  assert.ok(!JSON.stringify(describeFarmConfig(loadFarmConfig({ FARM_AUTH_PEPPER: PEPPER }))).includes(PEPPER));
});

describe('security: API keys, roles, ownership, limits, headers (auth on)', () => {
  let redis: TestRedis;
  let s3: TestS3;
  let config: FarmConfig;
  let farm: InProcessFarm | undefined;
  let api: RunningApi;
  let store: ArtifactStore;
  let client: Redis;
  let keys: ApiKeyRepository;
  let tmp: string;
  let alice: string;
  let bob: string;
  let admin: string;
  let aliceJob: string;

  const auth = (key: string) => ({ authorization: `Bearer ${key}` });
  const call = async (path: string, key?: string, init: RequestInit = {}) => {
    const res = await fetch(`${api.url}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { ...(key ? auth(key) : {}), ...(init.headers as Record<string, string>) },
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON (an SSE stream, a redirect)
    }
    return { status: res.status, headers: res.headers, body };
  };
  const untilDone = async (id: string, key: string) => {
    for (let i = 0; i < 300; i++) {
      const { body } = await call(`/v1/jobs/${id}`, key);
      if (['done', 'failed', 'cancelled'].includes(String(body.state))) return body;
      await sleep(100);
    }
    throw new Error(`job ${id} did not finish`);
  };

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'farm-security-'));
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    config = loadFarmConfig({
      ...farmEnv(redis, s3),
      PORT: '0',
      FARM_AUTH: 'on',
      FARM_AUTH_PEPPER: PEPPER,
      FARM_ADMIN_TOKEN: ADMIN_TOKEN,
      FARM_MAX_ACTIVE_JOBS: '3',
      FARM_MAX_VIDEO_SIDE: '500',
      FARM_MAX_FRAMES: '100',
      FARM_MAX_DURATION_S: '3',
      FARM_PRESIGN_TTL_S: '120',
      FARM_CORS_ORIGINS: ORIGIN,
      FARM_JOB_ATTEMPTS: '1',
    });
    client = new Redis(redis.url);
    keys = new ApiKeyRepository(client, PEPPER);
    farm = await startInProcessFarm(config, recordingStagesForTest({ windows: 1 }));
    ({ api, store } = farm);
    alice = (await keys.create('user', 'alice')).key;
    bob = (await keys.create('user', 'bob')).key;
    admin = (await keys.create('admin', 'ops')).key;
  });

  after(async () => {
    await farm?.close();
    client?.disconnect();
    await Promise.all([s3?.stop(), redis?.stop()]);
    await rm(tmp, { recursive: true, force: true });
  });

  test('npm run farm:keys: the key is printed once, stored only as a peppered hash, listed by id, revocable', async () => {
    const cli = (args: string[]) =>
      run(process.execPath, [join(REPO_ROOT, 'dist/apps/api/src/auth/keys-main.js'), ...args], {
        env: { ...process.env, REDIS_URL: redis.url, FARM_AUTH_PEPPER: PEPPER },
      });
    const created = await cli(['create', '--role', 'admin', '--name', 'cli-test', '--json']);
    const { id, key, role } = JSON.parse(created.stdout) as { id: string; key: string; role: string };
    assert.equal(role, 'admin');
    assert.match(key, new RegExp(`^sek_${id}_[A-Za-z0-9_-]{43}$`));
    assert.match(created.stderr, /shown only this once/);
    assert.equal((await call('/v1/workers', key)).status, 200, 'the new admin key works');

    const stored = await client.hgetall(API_KEY_KEYS.record(id));
    const secret = key.slice(`sek_${id}_`.length);
    assert.match(stored.hash!, /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(stored).includes(secret), 'the secret is not in Redis');
    const listed = await cli(['list']);
    assert.match(listed.stdout, new RegExp(`^${id}\\tadmin\\tactive\\t.*cli-test`, 'm'));
    assert.ok(!listed.stdout.includes(secret), 'list never shows a key');

    await cli(['revoke', id]);
    assert.equal((await call('/v1/workers', key)).status, 401, 'a revoked key stops working at once');
    await assert.rejects(cli(['create', '--role', 'root']), (e: { code?: number }) => e.code === 2);
    await assert.rejects(cli(['revoke', 'ffffffffffff']), (e: { code?: number; stderr?: string }) => e.code === 2);
    // Another pepper (another farm, or a changed pepper) does not accept this farm's keys.
    assert.equal(await new ApiKeyRepository(client, 'another-pepper-0123456789').verify(alice), null);
  });

  test('no valid key: 401 with a Bearer challenge on every job route; health, queues, looks, metrics stay open', async () => {
    const uuid = '0b6a2a3e-6f1e-4c8e-9a4e-2f0d6c1b9d7a';
    const routes: Array<[string, string]> = [
      ['GET', '/v1/jobs'],
      ['POST', '/v1/jobs'],
      ['GET', `/v1/jobs/${uuid}`],
      ['GET', `/v1/jobs/${uuid}/result`],
      ['GET', `/v1/jobs/${uuid}/events`],
      ['DELETE', `/v1/jobs/${uuid}`],
      ['POST', '/v1/streams'],
      ['GET', '/v1/workers'],
    ];
    const wrongSecret = alice.slice(0, -4) + (alice.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const credential of [undefined, 'Bearer nonsense', `Bearer ${wrongSecret}`, 'Bearer sek_zz', 'Basic !!']) {
      for (const [method, path] of routes) {
        const res = await call(path, undefined, {
          method,
          headers: credential ? { authorization: credential } : {},
        });
        assert.equal(res.status, 401, `${method} ${path} with ${credential ?? 'nothing'}`);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.match(String(res.body.message), /API key/);
        assert.ok(!String(res.body.message).includes(wrongSecret.slice(20)), 'the credential is not echoed');
      }
    }
    for (const path of ['/health', '/health/ready', '/v1/health', '/v1/queues', '/v1/looks', '/metrics', '/docs-json'])
      assert.equal((await call(path)).status, 200, path);
  });

  test('a key sees only its own jobs: another key gets 404 everywhere and does not list them; admins see all', async () => {
    const res = await postJob(
      api.url,
      { video: SMALL, fields: { look: 'cartoon', preset: 'fast', frames: '20' } },
      { ...auth(alice), 'idempotency-key': 'same-key' },
    );
    assert.equal(res.status, 202, JSON.stringify(res.body));
    aliceJob = String(res.body.id);
    assert.equal((await untilDone(aliceJob, alice)).state, 'done');
    const aliceId = alice.split('_')[1];
    assert.equal(await client.hget(JOB_KEYS.record(aliceJob), 'owner'), aliceId, 'the record names its owner key');

    for (const [method, path] of [
      ['GET', `/v1/jobs/${aliceJob}`],
      ['GET', `/v1/jobs/${aliceJob}/result`],
      ['GET', `/v1/jobs/${aliceJob}/result?artifact=report`],
      ['GET', `/v1/jobs/${aliceJob}/events`],
      ['DELETE', `/v1/jobs/${aliceJob}`],
    ] as const) {
      const other = await call(path, bob, { method });
      assert.equal(other.status, 404, `bob: ${method} ${path}`);
      assert.match(String(other.body.message), /does not exist/, 'indistinguishable from an unknown job');
    }
    const stream = await call('/v1/streams', bob, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jobId: aliceJob }),
    });
    assert.equal(stream.status, 404, 'bob cannot stream with alice’s model');
    assert.equal((await call(`/v1/jobs/${aliceJob}`, alice)).body.state, 'done', 'bob’s cancel changed nothing');

    const ids = async (key: string, query = '') =>
      ((await call(`/v1/jobs${query}`, key)).body.items as Array<{ id: string }>).map((j) => j.id);
    assert.deepEqual(await ids(alice), [aliceJob]);
    assert.deepEqual(await ids(alice, '?state=done'), [aliceJob]);
    assert.deepEqual(await ids(alice, '?state=queued'), []);
    assert.deepEqual(await ids(bob), []);
    assert.ok((await ids(admin)).includes(aliceJob), 'an admin key lists every job');
    assert.equal((await call(`/v1/jobs/${aliceJob}`, admin)).status, 200);
    assert.equal((await call(`/v1/jobs/${aliceJob}`, ADMIN_TOKEN)).status, 200, 'the admin token is an admin');

    // Idempotency keys are per API key: bob's "same-key" is not alice's job.
    const bobs = await postJob(
      api.url,
      { video: SMALL, fields: { look: 'cartoon', preset: 'fast', frames: '20' } },
      { ...auth(bob), 'idempotency-key': 'same-key' },
    );
    assert.equal(bobs.status, 202);
    assert.notEqual(bobs.body.id, aliceJob);
    await untilDone(String(bobs.body.id), bob);
  });

  test('presigned result URLs expire after FARM_PRESIGN_TTL_S and carry no secret', async () => {
    const res = await call(`/v1/jobs/${aliceJob}/result`, alice);
    assert.equal(res.status, 302);
    const url = new URL(res.headers.get('location')!);
    assert.equal(url.origin, s3.endpoint);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '120');
    assert.ok(url.searchParams.get('X-Amz-Signature'));
    // The secret is everything after `sek_<id>_` (base64url, so it may itself contain `_`).
    assert.ok(!url.href.includes(alice.split('_').slice(2).join('_')), 'the API key is not in the URL');
    assert.equal((await fetch(url)).status, 200);
  });

  test('admin routes: a user key gets 403, an admin key (Bearer or basic) and the admin token get in', async () => {
    const basic = (secret: string) => `Basic ${Buffer.from(`ops:${secret}`).toString('base64')}`;
    assert.equal((await call('/v1/workers', alice)).status, 403);
    assert.match(String((await call('/v1/workers', alice)).body.message), /admin API key/);
    assert.equal((await call('/v1/workers', admin)).status, 200);
    assert.equal((await call('/v1/workers', ADMIN_TOKEN)).status, 200);
    assert.equal((await call('/admin/api/overview', alice)).status, 403);
    assert.equal((await call('/admin/api/overview', admin)).status, 200);
    assert.equal((await call('/admin/api/overview', ADMIN_TOKEN)).status, 200);
    const viaBasic = await call('/admin/api/overview', undefined, { headers: { authorization: basic(admin) } });
    assert.equal(viaBasic.status, 200, 'a browser can sign in to the dashboard with an admin key');
    const noCredential = await call('/admin/');
    assert.equal(noCredential.status, 401);
    assert.match(noCredential.headers.get('www-authenticate') ?? '', /^Basic/);
  });

  test('rate limit per key: past the burst 429 with Retry-After, other keys unaffected, the bucket refills', async () => {
    const { key } = await keys.create('user', 'chatty', { ratePerS: 2, burst: 5 });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await call('/v1/jobs', key);
      statuses.push(res.status);
      if (res.status === 429) retryAfter ??= res.headers.get('retry-after');
    }
    assert.deepEqual(statuses.slice(0, 5), [200, 200, 200, 200, 200]);
    assert.ok(
      statuses.slice(5).every((s) => s === 429),
      `statuses ${statuses.join(',')}`,
    );
    assert.equal(retryAfter, '1');
    assert.equal((await call('/v1/jobs', alice)).status, 200, 'another key has its own bucket');
    await sleep(1100);
    assert.equal((await call('/v1/jobs', key)).status, 200, 'refilled at 2 per second');
  });

  test('job quota per key: past FARM_MAX_ACTIVE_JOBS unfinished jobs 429 with Retry-After; a cancel frees a slot', async () => {
    const { key } = await keys.create('user', 'busy', { maxActiveJobs: 2 });
    const analyze = new Queue('analyze', { connection: client });
    await analyze.pause(); // jobs stay queued: unfinished
    try {
      const form = { video: SMALL, fields: { look: 'cartoon', preset: 'fast', frames: '10' } };
      const first = await postJob(api.url, form, auth(key));
      const second = await postJob(api.url, form, auth(key));
      assert.deepEqual([first.status, second.status], [202, 202]);
      const records = await client.zcard(JOB_KEYS.all);
      const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: await jobForm(form), headers: auth(key) });
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '30');
      assert.match(((await res.json()) as { message: string }).message, /2 unfinished job\(s\), its limit/);
      assert.equal(await client.zcard(JOB_KEYS.all), records, 'no record for the refused job');
      assert.equal((await postJob(api.url, form, auth(bob))).status, 202, 'the quota is per key');

      assert.equal((await call(`/v1/jobs/${String(first.body.id)}`, key, { method: 'DELETE' })).status, 202);
      const third = await postJob(api.url, form, auth(key));
      assert.equal(third.status, 202, 'a cancelled job frees its slot');
    } finally {
      await analyze.resume();
      await analyze.close();
    }
  });

  test('media limits, by ffprobe before a job exists: side, frames and duration get 422 naming the limit', async () => {
    const records = await client.zcard(JOB_KEYS.all);
    const cases: Array<[string, Parameters<typeof postJob>[1], RegExp]> = [
      [
        '512 px over the 500 px side limit',
        { video: WIDE, fields: { look: 'cartoon' } },
        /at most 500 pixels per side/,
      ],
      ['175 frames over the 100 frame limit', { video: SMALL, fields: { look: 'cartoon' } }, /at most 100 per job/],
      [
        '90 frames = 3.6 s over the 3 s limit',
        { video: SMALL, fields: { look: 'cartoon', frames: '90' } },
        /spans 3\.6 s; this farm edits at most 3 s/,
      ],
    ];
    for (const [name, form, message] of cases) {
      const res = await postJob(api.url, form, auth(admin));
      assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
      assert.match(String(res.body.message), message, name);
    }
    assert.equal(await client.zcard(JOB_KEYS.all), records, 'no job record');
    // Other tests' jobs may still be writing: what must not exist is a stored job prefix without a record.
    const stored = new Set((await store.list('')).map((o) => o.key.split('/')[1]!));
    for (const id of stored) assert.ok(await client.exists(JOB_KEYS.record(id)), `jobs/${id}/ has no record`);
  });

  test('storage keys are the server’s: file names and field values never reach a key', async () => {
    const form = new FormData();
    form.append('video', new Blob([await readFile(SMALL)]), '../../../../etc/passwd');
    const png = join(tmp, 'k.png');
    await run('ffmpeg', ['-loglevel', 'error', '-y', '-i', SMALL, '-frames:v', '1', png]);
    form.append('keyframe', new Blob([await readFile(png)]), '/abs/../../x y.png');
    form.append('keyframeAt', '0');
    form.append('frames', '5');
    const res = await fetch(`${api.url}/v1/jobs`, { method: 'POST', body: form, headers: auth(alice) });
    const body = (await res.json()) as { id: string };
    assert.equal(res.status, 202, JSON.stringify(body));
    const stored = (await store.list(`jobs/${body.id}/`)).map((o) => o.key.slice(`jobs/${body.id}/`.length));
    assert.deepEqual(stored.slice(0, 2).sort(), ['edit/keyframe-0.png', 'input'].sort());
    assert.ok(
      (await store.list('')).every((o) => o.key.startsWith('jobs/')),
      'nothing outside jobs/{uuid}/',
    );
    await untilDone(body.id, alice);
  });

  test('helmet headers on every answer; CORS only for FARM_CORS_ORIGINS, never with credentials', async () => {
    const res = await fetch(`${api.url}/v1/health`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    assert.match(res.headers.get('content-security-policy') ?? '', new RegExp(`media-src 'self' ${s3.endpoint}`));
    assert.equal(res.headers.get('x-frame-options'), 'SAMEORIGIN');
    assert.equal(res.headers.get('x-powered-by'), null);
    const preflight = (origin: string) =>
      fetch(`${api.url}/v1/jobs`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,idempotency-key',
        },
      });
    const ok = await preflight(ORIGIN);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    assert.equal(ok.headers.get('access-control-allow-credentials'), null);
    const other = await preflight('https://evil.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    const get = await fetch(`${api.url}/v1/jobs`, { headers: { origin: ORIGIN, ...auth(alice) } });
    assert.equal(get.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(get.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
  });

  test('malformed credentials and bodies: 400/401, never 500; JSON bodies validated with the field named', async () => {
    const streams = (body: string) =>
      call('/v1/streams', alice, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await streams('{"jobId": ')).status, 400);
    const unknownField = await streams('{"jobId": "x", "extra": 1}');
    assert.equal(unknownField.status, 400);
    assert.match(String(unknownField.body.message), /Invalid stream request field/);
    const notUuid = await streams('{"jobId": "../../etc"}');
    assert.equal(notUuid.status, 400);
    for (const header of [
      'Bearer',
      'Bearer  ',
      'Basic',
      `Basic ${Buffer.from('nocolon').toString('base64')}`,
      'x'.repeat(8000),
    ])
      assert.equal(
        (await call('/v1/jobs', undefined, { headers: { authorization: header } })).status,
        401,
        header.slice(0, 20),
      );
  });
});
